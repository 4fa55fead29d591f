"""One-off campaigns, end to end: Segment's Python client identifies shoppers in Germany and
elsewhere; the retailer defines a segment and previews it over the admin API, then launches a
sale email to it. The real SMTP server receives it once per member who consented, with the
campaign's offer code; a member who refused email marketing gets nothing, a second launch
sends nothing twice, and the engagement counts the campaign's emails."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from segment.analytics import client as segment_client
from segment.analytics import request as segment_request
from segment.analytics.client import Client

from juncture import wiring
from juncture.runtime.campaigns import CampaignJob, Campaigns
from juncture.runtime.clock import ManualClock
from juncture.store.campaign_runs import CampaignRuns, campaign_runs
from tests.conftest import ADMIN, WRITE_KEY, LiveServer, settings_for
from tests.e2e.test_library_segment_client import MINUTE, T0, DeviceClock, Shop
from tests.servers import SmtpSink

SECOND = dt.timedelta(seconds=1)

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

    def __init__(self, url: str, **settings: Any) -> None:
        self.sink = SmtpSink().start()
        self.clock = ManualClock(T0)
        DeviceClock.clock = self.clock
        smtp = {"smtp_url": SecretStr(self.sink.url), "email_from": "Shop <shop@example.com>"}
        config = settings_for(url, dispatch_interval=0.05, **smtp, **settings)
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
                              "granted": 2, "refused": 1, "unstated": 0,
                              "sendAt": T0.isoformat(), "wouldSend": 2,
                              "sendNow": 2, "deferred": {}, "alreadyStarted": 0,
                              "suppressed": {"no_consent:email:marketing": 1}}  # fmt: skip

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


def at(shop: Shop, to: dt.datetime, launcher: Campaigns | None = None) -> int:
    """Move the clock to ``to``, let the campaign job run once (``launcher``: one built as
    a restarted server would), and let the engine and the dispatcher act on what it started;
    how many members it started."""
    shop.advance(to)
    started = (launcher or shop.j.campaign_launcher()).tick()
    shop.advance(to)
    return started


def customers(shop: Shop, *users: str) -> None:
    for user in users:
        shop.identify(T0, user, country="DE")
    assert admin(shop, "POST", "/v1/segments", json={"source": SEGMENT}).status_code == 201


FIVE = ("anna", "jonas", "ines", "karl", "mia")


def test_a_scheduled_campaign_sends_nothing_before_its_time_then_sends(shop: Shop) -> None:
    customers(shop, "anna", "jonas", "ines")
    send_at = T0 + 60 * MINUTE
    r = admin(shop, "POST", "/v1/campaigns", json={**SALE, "sendAt": send_at.isoformat()})
    assert r.status_code == 200, r.text
    assert r.json() == {"journeyId": "campaign_spring-sale", "version": 1,
                        "status": "scheduled", "sendAt": send_at.isoformat(),
                        "perMinute": None, "reached": 0, "started": 0}  # fmt: skip
    again = admin(shop, "POST", "/v1/campaigns", json={**SALE, "sendAt": send_at.isoformat()})
    assert again.status_code == 409, again.text
    at_once = admin(shop, "POST", "/v1/campaigns", json=SALE)  # would start all now
    assert at_once.status_code == 409, at_once.text
    assert at(shop, T0 + 59 * MINUTE) == 0
    assert shop.sink.mails == []
    got = admin(shop, "GET", "/v1/campaigns/spring-sale").json()
    assert (got["status"], got["started"], got["entered"]) == ("scheduled", 0, 0)

    assert at(shop, send_at) == 3
    assert len(shop.sink.mails) == 3
    got = admin(shop, "GET", "/v1/campaigns/spring-sale").json()
    assert (got["status"], got["reached"], got["started"], got["sent"]) == ("done", 3, 3, 3)
    assert at(shop, send_at + MINUTE) == 0 and len(shop.sink.mails) == 3


def test_a_scheduled_campaign_is_checked_at_once(shop: Shop) -> None:
    customers(shop, "anna")
    later = (T0 + 60 * MINUTE).isoformat()
    bad = {**SALE, "data": {"offer": {"value": "20%"}}, "sendAt": later}
    r = admin(shop, "POST", "/v1/campaigns", json=bad)
    assert r.status_code == 422 and "data.offer" in r.text, r.text
    naive = admin(shop, "POST", "/v1/campaigns", json={**SALE, "sendAt": "2026-06-01T10:00:00"})
    assert naive.status_code in (400, 422) and "sendAt" in naive.text, naive.text
    zero = admin(shop, "POST", "/v1/campaigns", json={**SALE, "perMinute": 0})
    assert zero.status_code in (400, 422) and "perMinute" in zero.text, zero.text
    elsewhere = admin(shop, "POST", "/v1/campaigns",
                      json={**SALE, "segment": "nope", "sendAt": later})  # fmt: skip
    assert elsewhere.status_code == 404, elsewhere.text
    assert at(shop, T0 + 61 * MINUTE) == 0
    assert shop.sink.mails == []


def test_a_throttled_campaign_starts_per_minute_and_a_restart_sends_nothing_twice(
    shop: Shop,
) -> None:
    customers(shop, *FIVE)
    shop.advance(T0 + MINUTE)
    r = admin(shop, "POST", "/v1/campaigns", json={**SALE, "perMinute": 2})
    assert r.status_code == 200 and r.json()["status"] == "scheduled", r.text
    assert r.json()["sendAt"] == (T0 + MINUTE).isoformat()  # absent: now
    assert shop.sink.mails == []  # nobody before the job runs

    assert at(shop, T0 + MINUTE) == 2
    assert at(shop, T0 + MINUTE + 30 * SECOND) == 0  # the same minute
    assert len(shop.sink.mails) == 2
    runs = CampaignRuns(shop.j.store.engine)
    first = runs.get("spring-sale")
    assert first is not None and (first.status, first.reached) == ("sending", 2)

    restarted = shop.j.campaign_launcher()  # a new server: only the table says how far
    assert at(shop, T0 + 2 * MINUTE, restarted) == 2
    assert len(shop.sink.mails) == 4
    # a crash after starting the second page but before recording it: the table still says 2
    with shop.j.store.engine.begin() as conn:
        conn.execute(sa.update(campaign_runs).values(cursor=first.cursor, reached=2))
    assert at(shop, T0 + 3 * MINUTE, shop.j.campaign_launcher()) == 1  # two again, one new
    assert len(shop.sink.mails) == 5
    assert sorted(m.recipients[0] for m in shop.sink.mails) == sorted(
        f"{u}@example.com" for u in FIVE
    )  # each once
    got = admin(shop, "GET", "/v1/campaigns/spring-sale").json()
    assert (got["status"], got["reached"], got["perMinute"], got["sent"]) == ("done", 5, 2, 5)


def test_a_cancelled_campaign_starts_nobody_further(shop: Shop) -> None:
    customers(shop, *FIVE)
    r = admin(shop, "POST", "/v1/campaigns", json={**SALE, "perMinute": 2})
    assert r.status_code == 200, r.text
    assert at(shop, T0) == 2
    cancelled = admin(shop, "DELETE", "/v1/campaigns/spring-sale")
    assert cancelled.status_code == 200, cancelled.text
    assert (cancelled.json()["status"], cancelled.json()["started"]) == ("cancelled", 2)
    assert at(shop, T0 + MINUTE) == 0 and at(shop, T0 + 5 * MINUTE) == 0
    assert len(shop.sink.mails) == 2
    assert admin(shop, "GET", "/v1/campaigns/spring-sale").json()["status"] == "cancelled"
    assert admin(shop, "DELETE", "/v1/campaigns/spring-sale").status_code == 200
    assert admin(shop, "DELETE", "/v1/campaigns/never").status_code == 404

    now = admin(shop, "POST", "/v1/campaigns", json={**SALE, "id": "flash"})
    assert now.json()["started"] == 5
    assert admin(shop, "DELETE", "/v1/campaigns/flash").status_code == 409  # sent at once


def test_the_serve_job_starts_a_due_campaign_on_its_own(shop: Shop) -> None:
    customers(shop, "anna", "jonas")
    r = admin(shop, "POST", "/v1/campaigns", json={**SALE, "perMinute": 1})
    assert r.status_code == 200, r.text
    job = CampaignJob(shop.j.campaign_launcher(), interval=0.05)
    job.start()
    try:
        deadline = time.monotonic() + 10
        while len(shop.sink.mails) < 1 and time.monotonic() < deadline:
            shop.advance(T0)  # the engine applies what the job ingested; the dispatcher sends
            time.sleep(0.05)
        time.sleep(0.3)  # several more ticks in the same minute
        shop.advance(T0)
    finally:
        job.stop()
    assert len(shop.sink.mails) == 1  # one a minute: the second waits for the next minute
