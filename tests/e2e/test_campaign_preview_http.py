"""A campaign's preview says what arbitration would suppress or defer, and the campaign then
does exactly that: Segment's Python client identifies shoppers in Germany, one who refused
email marketing, one without an address, one in California (night there: quiet hours), one
who already had today's email (a cap of one a day), one whose address bounced, and a holdout
draws among them; the preview's counts per reason equal what the launched campaign records
per reason, and the real SMTP server receives the ones it says would be sent, the deferred
one after the quiet hours."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest
from segment.analytics import client as segment_client
from segment.analytics import request as segment_request

from juncture.store.recipients import Recipients
from tests.e2e.test_campaigns_http import SALE, SEGMENT, CampaignShop, admin
from tests.e2e.test_library_segment_client import HOUR, MINUTE, T0, DeviceClock

VIPS = """id: vips
name: VIPs
description: Who the welcome went to.
where:
  all:
    - trait: vip
      eq: true
"""
WELCOME = {
    **SALE,
    "id": "vip-welcome",
    "name": "VIP welcome",
    "segment": "vips",
    "inline": {"subject": "Welcome", "text": "Hello {{ profile.first_name }}."},
}
CAMPAIGN = {**SALE, "holdout": 50}
PLAIN = ("anna", "ben", "cem", "dora", "emil", "frida", "gus", "hanna")


@pytest.fixture
def shop(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[CampaignShop]:
    monkeypatch.setattr(segment_client, "datetime", DeviceClock)
    monkeypatch.setattr(segment_request, "datetime", DeviceClock)
    s = CampaignShop(database_url, quiet_hours="21:00-08:00", channel_caps="email=1/-")
    yield s
    s.close()


def shoppers(shop: CampaignShop) -> None:
    for user in PLAIN:
        shop.identify(T0, user, country="DE", timezone="Europe/Berlin")
    shop.identify(T0, "jonas", country="DE", consent={"email": {"marketing": False}})
    shop.identify(T0, "lea", country="DE", email=None)
    shop.identify(T0, "ines", country="DE", timezone="America/Los_Angeles")  # 02:00 there
    shop.identify(T0, "karl", country="DE", vip=True)
    shop.identify(T0, "mia", country="DE")
    Recipients(shop.j.store.engine).suppress(
        "email", "mia@example.com", scope="all", reason="hard_bounce", at=T0
    )
    for source in (SEGMENT, VIPS):
        assert admin(shop, "POST", "/v1/segments", json={"source": source}).status_code == 201


def outbox_of(shop: CampaignShop, journey_id: str, status: str) -> Counter[str]:
    rows = shop.outbox()
    return Counter(r["reason"] for r in rows if r["journey_id"] == journey_id
                   and r["status"] == status)  # fmt: skip


def test_the_preview_counts_what_the_campaign_then_suppresses_by_reason(
    shop: CampaignShop,
) -> None:
    shoppers(shop)
    welcome = admin(shop, "POST", "/v1/campaigns", json=WELCOME)  # karl's one email today
    assert welcome.json()["started"] == 1, welcome.text
    shop.advance(T0 + MINUTE)
    assert len(shop.mails("karl")) == 1

    plain = admin(shop, "GET", "/v1/campaigns/preview", params={"segment": "dach"})
    assert plain.status_code == 200, plain.text
    assert plain.json() == {
        "segment": "dach", "channel": "email", "audience": len(PLAIN) + 5,
        "granted": len(PLAIN) + 4, "refused": 1, "unstated": 0,
        "sendAt": (T0 + MINUTE).isoformat(), "wouldSend": len(PLAIN) + 1,
        "sendNow": len(PLAIN), "deferred": {"quiet_hours": 1}, "alreadyStarted": 0,
        "suppressed": {"frequency_cap:email:day": 1, "no_consent:email:marketing": 1,
                       "no_recipient:email": 1, "suppressed:hard_bounce": 1},
    }  # fmt: skip
    late = {"segment": "dach", "sendAt": "2026-06-01T23:30:00+02:00"}
    night = admin(shop, "GET", "/v1/campaigns/preview", params=late).json()
    # 14:30 in California: ines at once; the rest wait for the morning, karl's cap with them
    # (tomorrow is another day)
    assert (night["sendNow"], night["deferred"]) == (1, {"quiet_hours": len(PLAIN) + 1})

    preview = admin(shop, "POST", "/v1/campaigns/preview", json=CAMPAIGN)
    assert preview.status_code == 200, preview.text
    said: dict[str, Any] = preview.json()
    suppressed = said["suppressed"]
    assert suppressed["holdout"] >= 1  # half of 13 drawn: none only once in 8,192 runs
    assert said["wouldSend"] + sum(suppressed.values()) == said["audience"]
    # the GET answers the same for the same campaign id and holdout
    got = admin(shop, "GET", "/v1/campaigns/preview",
                params={"segment": "dach", "id": "spring-sale", "holdout": 50}).json()  # fmt: skip
    assert (got["suppressed"], got["deferred"]) == (suppressed, said["deferred"])

    launched = admin(shop, "POST", "/v1/campaigns", json=CAMPAIGN)
    assert launched.json()["started"] == said["audience"], launched.text
    shop.advance(T0 + 2 * MINUTE)
    results = admin(shop, "GET", "/v1/campaigns/spring-sale").json()
    assert results["suppressed"] == suppressed
    assert outbox_of(shop, "campaign_spring-sale", "deferred") == Counter(said["deferred"])
    sale = [m for m in shop.sink.mails if m.message["Subject"] == "Spring sale: 20% off"]
    assert len(sale) == said["sendNow"]
    assert shop.mails("ines") == []  # 02:00 in California

    shop.advance(T0 + 7 * HOUR)  # 08:00 in California
    sale = [m for m in shop.sink.mails if m.message["Subject"] == "Spring sale: 20% off"]
    assert len(sale) == said["wouldSend"]
    assert len(shop.mails("ines")) == said["deferred"].get("quiet_hours", 0)

    again = admin(shop, "POST", "/v1/campaigns/preview", json=CAMPAIGN).json()
    assert (again["alreadyStarted"], again["wouldSend"]) == (said["audience"], 0)


def test_a_preview_of_an_unknown_segment_or_a_bad_time_is_refused(shop: CampaignShop) -> None:
    assert admin(shop, "GET", "/v1/campaigns/preview",
                 params={"segment": "nope"}).status_code == 404  # fmt: skip
    naive = admin(shop, "GET", "/v1/campaigns/preview",
                  params={"segment": "dach", "sendAt": "2026-06-01T10:00:00"})  # fmt: skip
    assert naive.status_code in (400, 422) and "sendAt" in naive.text, naive.text
    bad = admin(shop, "POST", "/v1/campaigns/preview",
                json={**SALE, "data": {"offer": {"value": "20%"}}})  # fmt: skip
    assert bad.status_code == 422 and "data.offer" in bad.text, bad.text
    misspelt = admin(shop, "POST", "/v1/campaigns/preview",
                     json={**SALE, "inline": None, "template": "spring_sael"})  # fmt: skip
    assert misspelt.status_code == 422 and "no template 'spring_sael'" in misspelt.text
