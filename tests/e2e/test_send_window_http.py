"""A journey's send window, end to end: Segment's Python client signs a customer in Berlin up
on a Saturday; the journey sends marketing on weekdays from 09:00 to 18:00 in the customer's
time, so the real SMTP server receives the welcome on Monday at 09:00 Berlin time, not
before."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
from segment.analytics import client as segment_client
from segment.analytics import request as segment_request

from juncture.definitions import journeys as journey_definitions
from tests.e2e.test_library_segment_client import MINUTE, DeviceClock, Shop

WELCOME = journey_definitions.loads("""
id: weekday_welcome
version: 1
name: A welcome on a weekday
send_window: {days: [mon, tue, wed, thu, fri], hours: "09:00-18:00"}
entry: {reentry: never}
nodes:
  - {id: signed_up, type: trigger, event: Signed Up, next: mail}
  - {id: mail, type: send, channel: email, template: welcome, next: done}
  - {id: done, type: exit}
""")
SATURDAY = dt.datetime(2026, 6, 6, 10, tzinfo=dt.UTC)  # 12:00 in Berlin
MONDAY_NINE = dt.datetime(2026, 6, 8, 7, tzinfo=dt.UTC)  # 09:00 in Berlin (summer time)


@pytest.fixture
def shop(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Shop]:
    monkeypatch.setattr(segment_client, "datetime", DeviceClock)
    monkeypatch.setattr(segment_request, "datetime", DeviceClock)
    s = Shop(database_url, [WELCOME])
    yield s
    s.close()


def test_marketing_waits_for_the_window_in_the_customers_time(shop: Shop) -> None:
    shop.advance(SATURDAY - MINUTE)
    shop.identify(SATURDAY - MINUTE, "ute", timezone="Europe/Berlin")
    shop.track(SATURDAY, "ute", "Signed Up", type="organic")
    shop.advance(MONDAY_NINE - MINUTE)
    assert shop.mails("ute") == []
    [held] = shop.outbox("ute")
    assert (held["status"], held["reason"]) == ("deferred", "send_window")
    shop.advance(MONDAY_NINE + MINUTE)
    [mail] = shop.mails("ute")
    assert mail.message["Subject"] == "Welcome, Ute!"
