"""Expert appointments on the store's clock, and their cancellation, over real HTTP on every
store: a New York store's associate works 09:00-17:00 local time across the end of daylight
saving time (1 November 2026), so the slots move by an hour in UTC; the shipped journeys
confirm a booking with the local time and remind at 08:00 local; a cancelled appointment is
never reminded, frees its slot, and a retry of the cancellation answers it again."""

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

START = dt.datetime(2026, 10, 30, 15, 0, tzinfo=dt.UTC)  # a Friday, New York on EDT
HOURS = ",".join(["09:00-17:00"] * 7)
ASSOCIATES = (
    "associate_id,name,store_code,skills,monday_hours,tuesday_hours,wednesday_hours,"
    f"thursday_hours,friday_hours,saturday_hours,sunday_hours\na1,Ann,nyc,Kitchen,{HOURS}\n"
)
STORES = "store_code,name,time_zone,latitude,longitude\nnyc,New York,America/New_York,40.7,-74\n"
LIBRARY = resources.files("juncture.library") / "journeys"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def shop(database_url: str, clock: ManualClock) -> Iterator[tuple[LiveServer, SmtpSink]]:
    with mail_server(database_url, clock) as running:
        yield running


def _open(live: LiveServer, stores: str = STORES) -> httpx.Client:
    api = httpx.Client(base_url=live.url, headers=ADMIN, timeout=30)  # a loaded machine
    yaml = {"Content-Type": "application/yaml"}
    for name in ("appointment_confirmation.yaml", "appointment_reminder.yaml"):
        r = api.post("/v1/journeys", content=(LIBRARY / name).read_text(), headers=yaml)
        assert r.status_code == 201, r.text
    assert upload(api, "locations", stores, "text/csv").status_code == 200
    assert upload(api, "associates", ASSOCIATES, "text/csv").status_code == 200
    client = Client(WRITE_KEY, host=live.url, sync_mode=True)
    client.identify("s1", {"email": "s1@example.com", "first_name": "Sam"}, timestamp=START)
    client.flush()
    caught_up(live.juncture)  # the customer's profile is in before the booking
    return api


def _slots(api: httpx.Client, day: str) -> list[str]:
    r = api.get("/v1/appointments/slots", params={"store": "nyc", "date": day})
    assert r.status_code == 200, r.text
    (ann,) = r.json()["associates"]
    return list(ann["slots"])


def _tick(live: LiveServer, clock: ManualClock, at: dt.datetime) -> None:
    clock.set(at)
    live.juncture.tick_sync()


def test_slots_and_reminders_follow_the_store_clock_across_the_change_of_time(
    shop: tuple[LiveServer, SmtpSink], clock: ManualClock
) -> None:
    live, sink = shop
    api = _open(live)
    saturday, sunday = _slots(api, "2026-10-31"), _slots(api, "2026-11-01")
    assert saturday[0] == "2026-10-31T09:00:00-04:00"  # 13:00 UTC
    assert sunday[0] == "2026-11-01T09:00:00-05:00"  # 14:00 UTC, the clocks went back
    assert len(saturday) == len(sunday) == 16
    assert api.get("/v1/locations").json()["locations"][0]["timeZone"] == "America/New_York"

    booking = {"customerId": "s1", "associateId": "a1", "startsAt": "2026-11-01T15:30:00Z"}
    r = api.post("/v1/appointments", json=booking)
    assert r.status_code == 201, r.text
    assert r.json()["starts"] == "2026-11-01T10:30:00-05:00"
    assert "2026-11-01T10:30:00-05:00" not in _slots(api, "2026-11-01")
    (confirmed,) = sink.wait_for(1)
    body = confirmed.message.get_body(("plain",))
    assert body is not None
    assert "Sunday 01 November at 10:30 at our nyc store" in body.get_content()

    _tick(live, clock, dt.datetime(2026, 11, 1, 12, 59, tzinfo=dt.UTC))  # 07:59 local
    assert len(sink.wait_for(2, timeout=1)) == 1
    _tick(live, clock, dt.datetime(2026, 11, 1, 13, 1, tzinfo=dt.UTC))  # 08:01 local
    mails = sink.wait_for(2)
    assert len(mails) == 2
    reminder = mails[1].message.get_body(("plain",))
    assert reminder is not None and "Ann expects you today at 10:30" in reminder.get_content()
    api.close()


def test_a_booking_outside_the_local_hours_is_refused(
    shop: tuple[LiveServer, SmtpSink],
) -> None:
    live, _ = shop
    api = _open(live)
    early = {"customerId": "s1", "associateId": "a1", "startsAt": "2026-11-02T13:30:00Z"}
    r = api.post("/v1/appointments", json=early)  # 08:30 in New York: before Ann starts
    assert (r.status_code, r.json()["code"]) == (409, "slot_taken")
    api.close()


def test_a_cancelled_appointment_is_not_reminded_and_frees_its_slot(
    shop: tuple[LiveServer, SmtpSink], clock: ManualClock
) -> None:
    live, sink = shop
    api = _open(live)
    booking = {"customerId": "s1", "associateId": "a1", "startsAt": "2026-11-02T10:00:00-05:00"}
    r = api.post("/v1/appointments", json=booking)
    assert r.status_code == 201, r.text
    made = r.json()["appointment_id"]
    assert len(sink.wait_for(1)) == 1

    r = api.delete(f"/v1/appointments/{made}")
    assert (r.status_code, r.json()["status"]) == (200, "cancelled"), r.text
    assert api.delete(f"/v1/appointments/{made}").json()["status"] == "already_cancelled"
    assert api.delete("/v1/appointments/apt-none").status_code == 404
    assert "2026-11-02T10:00:00-05:00" in _slots(api, "2026-11-02")
    r = api.get("/v1/events", params={"userId": "s1"})
    assert "Appointment Cancelled" in [e.get("event") for e in r.json()["events"]], r.text
    caught_up(live.juncture)  # the cancellation has ended the reminder's wait before it is due

    _tick(live, clock, dt.datetime(2026, 11, 2, 13, 30, tzinfo=dt.UTC))  # 08:30 on the day
    assert len(sink.wait_for(2, timeout=2)) == 1  # no reminder

    booked_again = api.post("/v1/appointments", json=booking)
    assert booked_again.status_code == 201, booked_again.text
    _tick(live, clock, dt.datetime(2026, 11, 2, 15, 0, tzinfo=dt.UTC))  # it has started
    r = api.delete(f"/v1/appointments/{made}")
    assert (r.status_code, r.json()["code"]) == (409, "appointment_started")
    api.close()
