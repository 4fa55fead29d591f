"""Expert appointments over real HTTP on every store: a booking through the API is
confirmed by the shipped journey ``appointment_confirmation`` at once and reminded by
``appointment_reminder`` on the morning of the day, both as real emails through an SMTP
server; the engine and the dispatcher run on a manual clock."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from importlib import resources

import httpx
import pytest
from segment.analytics.client import Client

from juncture.runtime.clock import ManualClock
from tests.conftest import ADMIN, WRITE_KEY, LiveServer, caught_up, mail_server
from tests.e2e.test_catalog_http import upload
from tests.servers import SmtpSink

START = dt.datetime(2026, 12, 2, 15, 0, tzinfo=dt.UTC)  # a Wednesday afternoon
HOURS = ",".join(["09:00-17:00"] * 7)
ASSOCIATES = (
    "associate_id,name,store_code,skills,monday_hours,tuesday_hours,wednesday_hours,"
    f"thursday_hours,friday_hours,saturday_hours,sunday_hours\na1,Ann,munich,Kitchen,{HOURS}\n"
)
LIBRARY = resources.files("juncture.library") / "journeys"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def shop(database_url: str, clock: ManualClock) -> Iterator[tuple[LiveServer, SmtpSink]]:
    with mail_server(database_url, clock) as running:
        yield running


def test_a_booking_is_confirmed_at_once_and_reminded_on_the_day(
    shop: tuple[LiveServer, SmtpSink], clock: ManualClock
) -> None:
    live, sink = shop
    api = httpx.Client(base_url=live.url, headers=ADMIN)
    yaml = {"Content-Type": "application/yaml"}
    for name in ("appointment_confirmation.yaml", "appointment_reminder.yaml"):
        r = api.post("/v1/journeys", content=(LIBRARY / name).read_text(), headers=yaml)
        assert r.status_code == 201, r.text
    assert upload(api, "associates", ASSOCIATES, "text/csv").status_code == 200
    client = Client(WRITE_KEY, host=live.url, sync_mode=True)
    client.identify("s1", {"email": "s1@example.com", "first_name": "Sam"}, timestamp=START)
    client.flush()
    caught_up(live.juncture)  # the customer's profile is in before the booking

    booking = {"customerId": "s1", "associateId": "a1", "startsAt": "2026-12-03T10:30:00Z"}
    assert api.post("/v1/appointments", json=booking).status_code == 201
    (confirmed,) = sink.wait_for(1)
    assert str(confirmed.message["Subject"]) == "Your appointment with Ann is booked"
    body = confirmed.message.get_body(("plain",))
    assert body is not None
    assert "Thursday 03 December at 10:30 at our munich store" in body.get_content()

    clock.set(dt.datetime(2026, 12, 3, 0, 1, tzinfo=dt.UTC))
    live.juncture.tick_sync()  # the day: the journey waits for the morning
    assert len(sink.wait_for(2, timeout=1)) == 1
    clock.set(dt.datetime(2026, 12, 3, 8, 1, tzinfo=dt.UTC))
    live.juncture.tick_sync()
    mails = sink.wait_for(2)
    assert len(mails) == 2
    assert str(mails[1].message["Subject"]) == "Today: your appointment with Ann"
    reminder = mails[1].message.get_body(("plain",))
    assert reminder is not None and "Ann expects you today at 10:30" in reminder.get_content()
    api.close()
