"""A date journey applied after the customers' dates are known: the profiles that already
hold the date get their timers at once (not when the trait next changes), on the engine's
stored catalog, through the real ingestion path on a manual clock."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import msgspec
import orjson
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from juncture import wiring
from juncture.cli.main import app
from juncture.core import messages
from juncture.core.events import as_utc
from juncture.runtime.clock import ManualClock
from juncture.store import date_timers, tables
from juncture.store.journeys import JourneyStore
from tests.conftest import caught_up, settings_for
from tests.integration.test_journey_dates import BIRTHDAY

T0 = dt.datetime(2026, 5, 4, 10, tzinfo=dt.UTC)
REPLENISH = """\
id: replenish
version: 1
name: Time to restock
nodes:
  - {id: due, type: trigger, date: replenish_at, next: remind}
  - {id: remind, type: send, channel: email, template: replenishment, next: done}
  - {id: done, type: exit}
"""


def _due(timer: tuple[str, dt.datetime]) -> dt.datetime:
    return timer[1]


class Store:
    def __init__(self, url: str) -> None:
        self.clock = ManualClock(T0)
        self.j = wiring.build(settings_for(url), clock=self.clock)  # the stored catalog
        self.journeys = JourneyStore(self.j.store.engine, clock=self.clock.now)

    def identify(self, user: str, **traits: Any) -> None:
        at = self.clock.now().isoformat()
        body = {"type": "identify", "userId": user, "traits": traits,
                "messageId": str(uuid.uuid4()), "timestamp": at}  # fmt: skip
        envelope = messages.Envelope(messages=[msgspec.Raw(orjson.dumps(body))], single=False)
        assert self.j.ingestor.ingest_sync(envelope, "test").rejected == []
        caught_up(self.j)  # the profile and its date timers are in

    def timers(self) -> list[tuple[str, dt.datetime]]:
        """The date timers (kind, due), by due time."""
        t = tables.timers
        query = sa.select(t.c.kind, t.c.due_at).where(t.c.kind.in_(("date", "anniversary")))
        with self.j.store.engine.connect() as conn:
            return sorted(((kind, as_utc(due)) for kind, due in conn.execute(query)), key=_due)

    def events(self, name: str) -> int:
        e = tables.events
        with self.j.store.engine.connect() as conn:
            return int(
                conn.execute(sa.select(sa.func.count()).where(e.c.event == name)).scalar_one()
            )

    def close(self) -> None:
        self.journeys.close()
        self.j.close()


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    s = Store(database_url)
    yield s
    s.close()


def test_a_birthday_journey_applied_later_arms_the_birthdays_already_known(store: Store) -> None:
    store.identify("u1", birthday="1990-05-06", timezone="Europe/Berlin")
    store.identify("u2", birthday="1985-12-24")
    store.identify("u3", email="no-birthday@example.com")
    assert store.timers() == []  # no journey watches birthdays yet
    applied = store.journeys.apply(BIRTHDAY, "birthday.yaml")
    assert applied.date_timers == 2
    midnight = dt.datetime(2026, 5, 5, 22, 0, tzinfo=dt.UTC)  # 6 May, 00:00 in Berlin
    christmas_eve = dt.datetime(2026, 12, 24, tzinfo=dt.UTC)
    assert store.timers() == [("anniversary", midnight), ("anniversary", christmas_eve)]
    store.clock.set(midnight)
    store.j.tick_sync()
    assert store.events("Anniversary Reached") == 1
    # Applied again unchanged: nothing stored, nothing armed; the re-armed timer stands.
    again = store.journeys.apply(BIRTHDAY, "birthday.yaml")
    assert (again.created, again.date_timers) == (False, 0)


def test_applying_again_mends_timers_an_apply_did_not_set(store: Store) -> None:
    """Arming runs in transactions of its own after the version is stored; an apply that
    stopped half way is mended by applying again, even unchanged."""
    for n in range(5):
        store.identify(f"u{n}", birthday=f"1990-06-0{n + 1}")
    assert store.journeys.apply(BIRTHDAY, "birthday.yaml").date_timers == 5
    with store.j.store.engine.begin() as conn:
        due = tables.timers.c.due_at
        conn.execute(sa.delete(tables.timers).where(due >= dt.datetime(2026, 6, 3, tzinfo=dt.UTC)))
    again = store.journeys.apply(BIRTHDAY, "birthday.yaml")
    assert (again.created, again.date_timers) == (False, 3)
    assert len(store.timers()) == 5
    # Two profiles per transaction: every page is read, and nothing is set twice.
    with store.j.store.engine.begin() as conn:
        conn.execute(sa.delete(tables.timers))
    once, yearly = frozenset[str](), frozenset({"birthday"})
    engine = store.j.store.engine
    assert date_timers.arm_existing(engine, once, yearly, T0, chunk=2) == 5
    assert date_timers.arm_existing(engine, once, yearly, T0, chunk=2) == 0
    assert len(store.timers()) == 5


def test_one_off_dates_arm_only_days_to_come_and_a_timer_there_is_kept(store: Store) -> None:
    store.identify("u1", replenish_at="2026-06-01")
    store.identify("u2", replenish_at="2026-04-01")  # already past: sets nothing
    applied = store.journeys.apply(REPLENISH, "replenish.yaml")
    assert applied.date_timers == 1
    assert store.timers() == [("date", dt.datetime(2026, 6, 1, tzinfo=dt.UTC))]
    store.journeys.pause("replenish")
    changed = store.journeys.apply(REPLENISH.replace("Time to restock", "Restock"), "r.yaml")
    assert changed.created and changed.date_timers == 0  # paused: one-off dates not watched
    store.identify("u3", replenish_at="2026-07-01")  # arrives while paused: no timer
    assert len(store.timers()) == 1
    store.journeys.resume("replenish")
    assert store.timers() == [
        ("date", dt.datetime(2026, 6, 1, tzinfo=dt.UTC)),
        ("date", dt.datetime(2026, 7, 1, tzinfo=dt.UTC)),
    ]


def test_journeys_apply_says_how_many_date_timers_it_set(database_url: str, tmp_path: Any) -> None:
    s = Store(database_url)
    try:
        s.identify("u1", birthday="1990-05-06")
    finally:
        s.close()
    path = tmp_path / "birthday.yaml"
    path.write_text(BIRTHDAY)
    (tmp_path / "own" / "birthday").mkdir(parents=True)  # the template it names
    (tmp_path / "own" / "birthday" / "subject.liquid").write_text("Happy birthday")
    result = CliRunner().invoke(
        app,
        ["journeys", "apply", str(path), "--database-url", database_url],
        env={"JUNCTURE_TEMPLATES_DIR": str(tmp_path / "own")},
    )
    assert result.exit_code == 0, result.output
    assert "1 date timers set for profiles that already hold the date" in result.output
