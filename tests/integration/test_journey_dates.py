"""Yearly date triggers (a birthday) inside the engine: events in through the real ingestion
path, the timer in the store, fired by the committer on a manual clock in event time."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from juncture.core.events import as_utc
from juncture.core.journeys.catalog import Catalog
from juncture.definitions import journeys as journey_definitions
from juncture.store import tables
from tests.integration.test_journeys_engine import T0, Shop, opted_in

BIRTHDAY = """\
id: birthday
version: 1
name: Happy birthday
entry: {reentry: always}
nodes:
  - {id: born, type: trigger, date: birthday, every: year, next: greet}
  - {id: greet, type: send, channel: email, template: birthday, next: done}
  - {id: done, type: exit}
"""
MINUTE = dt.timedelta(minutes=1)


@pytest.fixture
def shop(database_url: str) -> Iterator[Shop]:
    s = Shop(database_url, Catalog.of([journey_definitions.loads(BIRTHDAY, "birthday.yaml")]))
    yield s
    s.close()


def timers(shop: Shop) -> list[tuple[str, dt.datetime]]:
    t = tables.timers
    with shop.j.store.engine.connect() as conn:
        rows = conn.execute(sa.select(t.c.kind, t.c.due_at).where(t.c.kind == "anniversary"))
        return [(kind, as_utc(due)) for kind, due in rows]


def greeted(shop: Shop) -> list[dt.datetime]:
    """When each birthday enrollment started (the enrollments' entry times)."""
    return sorted(as_utc(e["entered_at"]) for e in shop.enrollments())


def anniversaries(shop: Shop) -> list[dict[str, Any]]:
    found = shop.j.store.events(user_id=None, derived=True, limit=1000)
    return [e.properties for e in found if e.event == "Anniversary Reached"]


def test_a_birthday_journey_enrolls_once_a_year_two_years_running(shop: Shop) -> None:
    opted_in(shop, timezone="Europe/Berlin", birthday="1990-05-06")  # a date long past
    midnight = dt.datetime(2026, 5, 5, 22, 0, tzinfo=dt.UTC)  # 6 May, 00:00 in Berlin
    assert timers(shop) == [("anniversary", midnight)]
    shop.advance(midnight - MINUTE)
    assert greeted(shop) == []
    shop.advance(midnight)
    assert greeted(shop) == [midnight]
    assert [(r["template"], r["status"]) for r in shop.outbox()] == [("birthday", "pending")]
    next_year = dt.datetime(2027, 5, 5, 22, 0, tzinfo=dt.UTC)
    assert timers(shop) == [("anniversary", next_year)]  # re-armed when it fired
    shop.advance(midnight + dt.timedelta(days=200))
    shop.advance(next_year - MINUTE)
    assert greeted(shop) == [midnight]
    shop.advance(next_year)
    assert greeted(shop) == [midnight, next_year]
    assert len(shop.outbox()) == 2
    assert [(a["on"], a["years"]) for a in anniversaries(shop)] == [
        ("2026-05-06", 36),
        ("2027-05-06", 37),
    ]


def test_a_birthday_learnt_on_the_day_is_celebrated_that_day(shop: Shop) -> None:
    """The day's midnight has passed when the trait arrives at 10:00: the timer is due at
    once, and its event (dated that midnight) is not too late to start the journey."""
    opted_in(shop, birthday="1985-05-04")
    shop.advance(T0 + MINUTE)
    assert greeted(shop) == [dt.datetime(2026, 5, 4, tzinfo=dt.UTC)]
    assert timers(shop) == [("anniversary", dt.datetime(2027, 5, 4, tzinfo=dt.UTC))]


def test_an_old_identify_arms_the_next_birthday_from_now(shop: Shop) -> None:
    """An identify imported a year late sets the birthday to come, not the ones it missed."""
    shop.send(T0 - dt.timedelta(days=400), type="identify", userId="u1",
              traits={"birthday": "1990-05-03"})  # fmt: skip
    assert timers(shop) == [("anniversary", dt.datetime(2027, 5, 3, tzinfo=dt.UTC))]


def test_moving_or_clearing_the_birthday_moves_or_cancels_the_timer(shop: Shop) -> None:
    opted_in(shop, birthday="1990-05-06")
    shop.send(T0 + MINUTE, type="identify", userId="u1", traits={"timezone": "Asia/Tokyo"})
    assert timers(shop) == [("anniversary", dt.datetime(2026, 5, 5, 15, 0, tzinfo=dt.UTC))]
    shop.send(T0 + 2 * MINUTE, type="identify", userId="u1", traits={"birthday": "1990-06-01"})
    assert timers(shop) == [("anniversary", dt.datetime(2026, 5, 31, 15, 0, tzinfo=dt.UTC))]
    shop.send(T0 + 3 * MINUTE, type="identify", userId="u1", traits={"birthday": None})
    assert timers(shop) == []
    shop.advance(T0 + dt.timedelta(days=60))
    assert greeted(shop) == []
