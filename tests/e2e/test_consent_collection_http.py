"""Consent to collection over HTTP on SQLite and PostgreSQL, with Segment's Python client
sending what consent managers add (``context.consent.categoryPreferences``): a shopper who
refused analytics is stored minimally, or not at all; one who refused the sale or sharing
of their data (do-not-sell) is left out of segment exports and marketing webhooks."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from segment.analytics.client import Client

from juncture import wiring
from tests.conftest import ADMIN, WRITE_KEY, LiveServer, caught_up, settings_for, stored

REFUSED = {"consent": {"categoryPreferences": {"Analytics": False, "DataSharing": True}}}
JOURNEY = """\
id: welcome_hook
version: 1
name: Welcome to the CRM
nodes:
  - {id: signed_up, type: trigger, event: Signed Up, next: hook}
  - {id: hook, type: send, channel: webhook, template: welcome, next: done}
  - {id: done, type: exit}
"""
EVERYONE = "id: everyone\nname: Everyone with an email\nwhere: {fact: email, exists: true}\n"


def _client(live: LiveServer, errors: list[Exception]) -> Client:
    return Client(WRITE_KEY, host=live.url, sync_mode=True, on_error=lambda e, _b: errors.append(e))


def _shopping(live: LiveServer) -> None:
    errors: list[Exception] = []
    client = _client(live, errors)
    client.identify("c-ok", {"email": "ok@example.com", "plan": "gold"})
    client.identify("c-no", {"email": "no@example.com", "plan": "gold"}, context=dict(REFUSED))
    client.track(
        "c-no", "Product Viewed", {"product_id": "P1", "price": 9.5}, context=dict(REFUSED)
    )
    client.flush()
    assert errors == []
    caught_up(live.juncture)  # their profiles are in


@pytest.fixture
def dropping(database_url: str) -> Iterator[LiveServer]:
    settings = settings_for(database_url, consent_refused="drop")
    server = LiveServer(wiring.build(settings)).start()
    yield server
    server.stop()


def _profile(live: LiveServer, user_id: str) -> dict[str, Any]:
    r = httpx.get(f"{live.url}/v1/profiles", params={"userId": user_id}, headers=ADMIN)
    assert r.status_code == 200, r.text
    return dict(r.json()["profiles"][0])


def test_a_refusal_of_analytics_is_stored_minimally(live: LiveServer) -> None:
    _shopping(live)
    identify, viewed = stored(live, userId="c-no")
    assert viewed["event"] == "Product Viewed"
    assert "properties" not in viewed and "traits" not in identify  # no behaviour, no traits
    assert set(viewed["context"]) == {"consent", "library"}
    assert viewed["context"]["consent"] == REFUSED["consent"]
    assert _profile(live, "c-no")["traits"] == {}
    assert _profile(live, "c-ok")["traits"]["email"] == "ok@example.com"


def test_a_refusal_of_analytics_is_not_stored_at_all_when_so_configured(
    dropping: LiveServer,
) -> None:
    _shopping(dropping)  # the client is answered 200: it did nothing wrong
    assert stored(dropping, userId="c-no") == []
    assert [e["type"] for e in stored(dropping, userId="c-ok")] == ["identify"]


def test_do_not_sell_keeps_a_shopper_out_of_exports_and_marketing_webhooks(
    live: LiveServer,
) -> None:
    applied = httpx.post(
        f"{live.url}/v1/journeys",
        content=JOURNEY,
        headers={**ADMIN, "Content-Type": "application/yaml"},
    )
    assert applied.status_code == 201, applied.text
    errors: list[Exception] = []
    client = _client(live, errors)
    client.identify("s-1", {"email": "s1@example.com"})
    client.identify("s-2", {"email": "s2@example.com", "do_not_sell": True})
    sharing_refused = {"consent": {"categoryPreferences": {"DataSharing": False}}}
    client.identify("s-3", {"email": "s3@example.com"}, context=sharing_refused)
    for user in ("s-1", "s-2", "s-3"):
        client.track(user, "Signed Up", {})
    client.flush()
    assert errors == []
    caught_up(live.juncture)  # their profiles, enrolments and sends are in
    assert _profile(live, "s-2")["traits"]["do_not_sell"] is True

    created = httpx.post(f"{live.url}/v1/segments", json={"source": EVERYONE}, headers=ADMIN)
    assert created.status_code == 201, created.text
    assert created.json()["size"] == 3  # members all the same
    exported = httpx.get(f"{live.url}/v1/segments/everyone/export", headers=ADMIN)
    assert exported.status_code == 200, exported.text
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["email"] for r in rows] == ["s1@example.com"]

    def delivery(user: str) -> dict[str, Any]:
        r = httpx.get(f"{live.url}/v1/deliveries", params={"userId": user}, headers=ADMIN)
        assert r.status_code == 200, r.text
        [only] = r.json()["deliveries"]
        return dict(only)

    assert delivery("s-1")["status"] == "pending"  # on its way to the CRM
    for user in ("s-2", "s-3"):
        held = delivery(user)
        assert (held["status"], held["reason"]) == ("suppressed", "no_consent:webhook:marketing")
