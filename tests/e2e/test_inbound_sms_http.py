"""SMS STOP, end to end: Segment's Python client drives a journey that texts marketing to a
customer through a real HTTP SMS provider; the customer replies STOP, which the provider
posts to ``/v1/inbound/sms`` in Twilio's shape; no further marketing text leaves for that
number. START turns it back on. Calls without the inbound token change nothing."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from pydantic import SecretStr
from segment.analytics import client as segment_client
from segment.analytics import request as segment_request

from juncture.definitions import journeys as journey_definitions
from tests.conftest import ADMIN, LiveServer
from tests.e2e.test_library_segment_client import HOUR, MINUTE, SHOE, T0, DeviceClock, Shop
from tests.servers import HttpRecorder

TOKEN = "test-inbound-token"
PHONE = "+4915112345678"
JOURNEY = journey_definitions.loads("""
id: sms_offer
version: 1
name: A text when a product is viewed
entry: {reentry: always}
nodes:
  - {id: viewed, type: trigger, event: Product Viewed, next: text}
  - {id: text, type: send, channel: sms, purpose: marketing, template: replenishment,
     next: done}
  - {id: done, type: exit}
""")


@pytest.fixture
def shop(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Shop, Any]]:
    monkeypatch.setattr(segment_client, "datetime", DeviceClock)
    monkeypatch.setattr(segment_request, "datetime", DeviceClock)
    provider = HttpRecorder().start()
    s = Shop(database_url, [JOURNEY], sms_url=f"{provider.url}/messages", sms_from="Shop",
             inbound_token=SecretStr(TOKEN))  # fmt: skip
    yield s, provider
    s.close()
    provider.stop()


def reply(
    shop: Shop, body: str, auth: Any = ("twilio", TOKEN), sender: str = PHONE
) -> httpx.Response:
    """What Twilio posts for an incoming message (form fields), with HTTP Basic credentials
    in the webhook's URL."""
    form = {"MessageSid": f"SM{abs(hash(body)) % 10**8}", "AccountSid": "AC1", "From": sender,
            "To": "+4930111111", "Body": body, "NumMedia": "0"}  # fmt: skip
    return httpx.post(f"{shop.server.url}/v1/inbound/sms", data=form, auth=auth)


def texts(provider: Any) -> list[str]:
    return [orjson.loads(r.body)["to"] for r in provider.requests]


def view(shop: Shop, at: dt.datetime) -> None:
    shop.track(at, "sue", "Product Viewed", currency="EUR", **SHOE)
    shop.advance(at + MINUTE)


def test_stop_ends_marketing_texts_and_start_resumes_them(shop: tuple[Shop, Any]) -> None:
    s, provider = shop
    s.identify(T0, "sue", phone=PHONE, consent={"sms": {"marketing": True}})
    view(s, T0 + MINUTE)
    assert texts(provider) == [PHONE]

    assert reply(s, "STOP", auth=("twilio", "wrong")).status_code == 401
    assert reply(s, "STOP", auth=None).status_code == 401
    view(s, T0 + HOUR)
    assert len(texts(provider)) == 2  # nothing changed

    stop = reply(s, "Stop")
    assert stop.status_code == 200 and stop.headers["content-type"].startswith("text/xml")
    view(s, T0 + 2 * HOUR)
    assert len(texts(provider)) == 2
    [held] = [r for r in s.outbox("sue") if r["status"] == "suppressed"]
    assert held["reason"] == "no_consent:sms:marketing"

    assert reply(s, "where is my order?").status_code == 200  # not a keyword: left alone
    assert reply(s, "START").status_code == 200
    view(s, T0 + 3 * HOUR)
    assert len(texts(provider)) == 3


def test_stop_from_a_number_no_profile_has_suppresses_it_before_any_profile_does(
    shop: tuple[Shop, Any],
) -> None:
    """The number says STOP before Juncture knows whose it is: when a customer later gives
    it (and their consent), no marketing text reaches it."""
    s, provider = shop
    r = httpx.post(f"{s.server.url}/v1/inbound/sms", json={"from": PHONE, "body": "STOP"},
                   headers={"Authorization": f"Bearer {TOKEN}"})  # fmt: skip
    assert r.status_code == 200 and r.json() == {"keyword": "stop"}
    s.identify(T0, "sue", phone=PHONE, consent={"sms": {"marketing": True}})
    view(s, T0 + MINUTE)
    assert texts(provider) == []
    [held] = s.outbox("sue")
    assert (held["status"], held["reason"]) == ("suppressed", "suppressed:stop")


def test_bad_bodies_are_answered_4xx_and_other_tokens_refused(shop: tuple[Shop, Any]) -> None:
    s, _ = shop
    bearer = {"Authorization": f"Bearer {TOKEN}"}
    url = f"{s.server.url}/v1/inbound/sms"
    r = httpx.post(url, json={"from": "not a number", "body": "STOP"}, headers=bearer)
    assert r.status_code == 400 and r.json()["where"] == "body.from"
    r = httpx.post(url, json={"text": "STOP"}, headers=bearer)
    assert r.status_code == 400 and r.json()["where"] == "body"
    r = httpx.post(url, content=b"{", headers={**bearer, "content-type": "application/json"})
    assert r.status_code == 400
    off = httpx.post(f"{s.server.url}/v1/inbound/sms", json={}, headers=ADMIN)
    assert off.status_code == 401  # the admin token is not the inbound token


def test_inbound_is_off_without_the_token_setting(live: LiveServer) -> None:
    r = httpx.post(f"{live.url}/v1/inbound/sms", json={"from": PHONE, "body": "STOP"})
    assert r.status_code == 404


def test_a_tracker_reporting_the_stop_reply_ends_marketing_texts(shop: tuple[Shop, Any]) -> None:
    """Without the webhook: the retailer's own system tracks the reply it received."""
    s, provider = shop
    s.identify(T0, "sue", phone=PHONE, consent={"sms": {"marketing": True}})
    view(s, T0 + MINUTE)
    s.track(T0 + 10 * MINUTE, "sue", "SMS Replied", body="STOP")
    view(s, T0 + HOUR)
    assert texts(provider) == [PHONE]  # the first only
    held = [r for r in s.outbox("sue") if r["status"] == "suppressed"]
    assert [r["reason"] for r in held] == ["no_consent:sms:marketing"]
