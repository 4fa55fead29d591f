"""One-off campaigns, end to end: Segment's Python client identifies shoppers in Germany and
elsewhere; the retailer defines a segment and previews it over the admin API, then launches a
sale email to it. The real SMTP server receives it once per member who consented, with the
campaign's offer code; a member who refused email marketing gets nothing, a second launch
sends nothing twice, and the engagement counts the campaign's emails."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from segment.analytics import client as segment_client
from segment.analytics import request as segment_request
from segment.analytics.client import Client

from juncture import wiring
from juncture.runtime.clock import ManualClock
from tests.conftest import ADMIN, WRITE_KEY, LiveServer, settings_for
from tests.e2e.test_library_segment_client import MINUTE, T0, DeviceClock, Shop
from tests.servers import SmtpSink

SEGMENT = """id: dach
name: Shoppers in Germany, Austria, Switzerland
description: Geographic.
where:
  all:
    - trait: country
      in: [DE, AT, CH]
"""
SALE = {
    "id": "spring-sale",
    "name": "Spring sale",
    "segment": "dach",
    "channel": "email",
    "inline": {"subject": "Spring sale: {{ data.offer.value }} off",
               "text": "Use {{ data.offer.code }}, {{ profile.first_name }}."},
    "data": {"offer": {"code": "SPRING20", "value": "20%", "expires": "3d"}},
}  # fmt: skip


class CampaignShop(Shop):
    """The shop, its journeys read from the store (a campaign is stored as a journey)."""

    def __init__(self, url: str) -> None:
        self.sink = SmtpSink().start()
        self.clock = ManualClock(T0)
        DeviceClock.clock = self.clock
        smtp = {"smtp_url": SecretStr(self.sink.url), "email_from": "Shop <shop@example.com>"}
        config = settings_for(url, dispatch_interval=0.05, **smtp)
        self.j = wiring.build(config, clock=self.clock)
        self.j.start_dispatcher()
        self.server = LiveServer(self.j).start()
        self.errors: list[Exception] = []
        self.segment = Client(WRITE_KEY, host=self.server.url, sync_mode=True,
                              on_error=lambda error, _batch: self.errors.append(error))  # fmt: skip


@pytest.fixture
def shop(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Shop]:
    monkeypatch.setattr(segment_client, "datetime", DeviceClock)
    monkeypatch.setattr(segment_request, "datetime", DeviceClock)
    s = CampaignShop(database_url)
    yield s
    s.close()


def admin(shop: Shop, method: str, path: str, **kwargs: Any) -> httpx.Response:
    return httpx.request(method, f"{shop.server.url}{path}", headers=ADMIN, **kwargs)


def test_a_sale_email_to_a_segment_once_per_consenting_member(shop: Shop) -> None:
    for user, country in (("anna", "DE"), ("jonas", "AT"), ("lea", "CH"), ("tom", "GB")):
        shop.identify(T0, user, country=country)
    shop.identify(T0, "lea", consent={"email": {"marketing": False}})
    r = admin(shop, "POST", "/v1/segments", json={"source": SEGMENT})
    assert r.status_code == 201, r.text

    preview = admin(shop, "GET", "/v1/campaigns/preview", params={"segment": "dach"})
    assert preview.json() == {"segment": "dach", "channel": "email", "audience": 3,
                              "granted": 2, "refused": 1, "unstated": 0}  # fmt: skip

    shop.advance(T0 + MINUTE)
    launched = admin(shop, "POST", "/v1/campaigns", json=SALE)
    assert launched.status_code == 200, launched.text
    assert launched.json() == {"journeyId": "campaign_spring-sale", "version": 1,
                               "audience": 3, "started": 3}  # fmt: skip
    shop.advance(T0 + 2 * MINUTE)
    assert [m.message["Subject"] for m in shop.mails("anna")] == ["Spring sale: 20% off"]
    assert shop.mails("anna")[0].part("plain").startswith("Use SPRING20, Anna.")
    assert len(shop.mails("jonas")) == 1
    assert shop.mails("lea") == [] and shop.mails("tom") == []
    [held] = shop.outbox("lea")
    assert held["reason"] == "no_consent:email:marketing"

    again = admin(shop, "POST", "/v1/campaigns", json=SALE)
    assert again.json()["started"] == 0  # nobody twice
    shop.advance(T0 + 3 * MINUTE)
    assert len(shop.sink.mails) == 2

    engagement = admin(shop, "GET", "/v1/messages/engagement",
                       params={"journeyId": "campaign_spring-sale"})  # fmt: skip
    [row] = engagement.json()["engagement"]
    assert row["sent"] == 2

    results = admin(shop, "GET", "/v1/campaigns/spring-sale")
    assert results.status_code == 200, results.text
    got = results.json()
    assert (got["campaign"], got["entered"], got["sent"]) == ("spring-sale", 3, 2)
    assert got["suppressed"] == {"no_consent:email:marketing": 1}
    assert got["engagement"]["sent"] == 2 and got["engagement"]["openedRate"] == 0.0
    assert admin(shop, "GET", "/v1/campaigns/never").status_code == 404


def test_a_campaign_that_does_not_validate_sends_nothing(shop: Shop) -> None:
    shop.identify(T0, "anna", country="DE")
    admin(shop, "POST", "/v1/segments", json={"source": SEGMENT})
    bad = {**SALE, "data": {"offer": {"value": "20%"}}}  # no code
    r = admin(shop, "POST", "/v1/campaigns", json=bad)
    assert r.status_code == 422 and "data.offer" in r.text, r.text
    misspelt = {**SALE, "inline": None, "template": "spring_sael"}
    r = admin(shop, "POST", "/v1/campaigns", json=misspelt)
    assert r.status_code == 422 and "no template 'spring_sael'" in r.text, r.text
    assert admin(shop, "GET", "/v1/campaigns/preview",
                 params={"segment": "nope"}).status_code == 404  # fmt: skip
    assert admin(shop, "POST", "/v1/campaigns", json={**SALE, "id": "Bad Id"}).status_code == 400
    shop.advance(T0 + MINUTE)
    assert shop.sink.mails == []
