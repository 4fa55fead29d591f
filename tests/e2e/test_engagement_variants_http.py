"""Engagement per send node and variant, counting what trackers report: a stored journey
splits new sign-ups between two welcome emails, Segment's Python client signs shoppers up,
a real SMTP server receives the emails, and then the client tracks ``Email Opened`` and
``Email Link Clicked`` as an email provider's events arrive through Segment: naming the
email by the ``Message-ID`` it carried. ``GET /v1/messages/engagement?journeyId=`` ties them
to their deliveries and gives the rates per variant."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from segment.analytics import client as segment_client
from segment.analytics import request as segment_request

from tests.conftest import ADMIN
from tests.e2e.test_campaigns_http import CampaignShop, admin
from tests.e2e.test_library_segment_client import MINUTE, T0, DeviceClock, Shop

JOURNEY = """\
id: welcome_ab
version: 1
name: Welcome, two ways
nodes:
  - {id: signed, type: trigger, event: Signed Up, next: ab}
  - id: ab
    type: split
    branches:
      - {name: short, weight: 50, next: mail_short}
      - {name: long, weight: 50, next: mail_long}
  - {id: mail_short, type: send, channel: email, template: welcome, next: done}
  - {id: mail_long, type: send, channel: email, template: welcome, next: done}
  - {id: done, type: exit}
"""
USERS = [f"shopper-{n}" for n in range(10)]


@pytest.fixture
def shop(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Shop]:
    monkeypatch.setattr(segment_client, "datetime", DeviceClock)
    monkeypatch.setattr(segment_request, "datetime", DeviceClock)
    s = CampaignShop(database_url)
    yield s
    s.close()


def rows(shop: Shop) -> dict[str, dict[str, Any]]:
    r = admin(shop, "GET", "/v1/messages/engagement", params={"journeyId": "welcome_ab"})
    assert r.status_code == 200, r.text
    return {row["variant"]: row for row in r.json()["engagement"]}


def test_trackers_opens_and_clicks_count_per_variant_by_message_id(shop: Shop) -> None:
    yaml = {**ADMIN, "Content-Type": "application/yaml"}
    applied = httpx.post(f"{shop.server.url}/v1/journeys", content=JOURNEY, headers=yaml)
    assert applied.status_code == 201, applied.text
    for n, user in enumerate(USERS):
        shop.identify(T0 + n * MINUTE, user)
        shop.track(T0 + n * MINUTE, user, "Signed Up", type="organic")
    shop.advance(T0 + 30 * MINUTE)
    node = {r["payload"]["user_id"]: r["node_id"] for r in shop.outbox() if r["status"] == "sent"}
    assert sorted(node) == sorted(USERS) and set(node.values()) == {"mail_short", "mail_long"}

    opened = USERS[:6]  # the provider saw these open, and the first two click
    for user in opened:
        [mail] = shop.mails(user)
        message_id = str(mail.message["Message-ID"])
        shop.track(T0 + 40 * MINUTE, user, "Email Opened", email_id=message_id,
                   email_subject=str(mail.message["Subject"]))  # fmt: skip
        if user in USERS[:2]:
            shop.track(T0 + 41 * MINUTE, user, "Email Link Clicked", email_id=message_id,
                       link_url="https://shop.example/new")  # fmt: skip
    shop.track(T0 + 42 * MINUTE, USERS[9], "Email Opened", email_id="<unknown@example.com>")
    shop.advance(T0 + 45 * MINUTE)

    got = rows(shop)
    assert set(got) == {"ab=short", "ab=long"}
    for variant, send in (("ab=short", "mail_short"), ("ab=long", "mail_long")):
        mine = [u for u in USERS if node[u] == send]
        row = got[variant]
        assert row["nodeId"] == send and row["sent"] == len(mine)
        assert row["opened"] == len([u for u in mine if u in opened])
        assert row["clicked"] == len([u for u in mine if u in USERS[:2]])
        assert row["openedRate"] == round(row["opened"] / row["sent"], 4)
    every = admin(shop, "GET", "/v1/messages/engagement").json()["engagement"]
    assert {r["nodeId"] for r in every if r["journeyId"] == "welcome_ab"} == {
        "mail_short", "mail_long"}  # fmt: skip
