"""A failed commit is taken apart: on every store, the one event (or timer) the engine cannot
process is set aside with its reason, and everything beside it commits and is processed.

The failures are injected into the real engine (a value no check at the edge would let in
today), since what the edge refuses never reaches a commit."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from juncture.core import pipeline
from juncture.core.events import Event
from juncture.core.timers import ScheduleTimer
from juncture.runtime.clock import ManualClock
from juncture.runtime.committer import GroupCommitter
from juncture.runtime.engine import Engine
from juncture.runtime.ingest import Ingestor, replay_failed
from juncture.store import tables
from juncture.store.sql import SqlStore
from juncture.store.state import StateSql

T0 = dt.datetime(2026, 11, 2, 9, tzinfo=dt.UTC)
POISON = "poison-1"


def event(message_id: str, user: str) -> Event:
    return Event(
        source="web",
        message_id=message_id,
        type="track",
        event="Product Viewed",
        user_id=user,
        timestamp=T0,
        received_at=T0,
        properties={"product_id": "p1", "price": 10.0},
    )


class Poisoned:
    """The real engine, failing on the event ``POISON`` until ``cured``."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.cured = False

    def __call__(self, state: StateSql, events: list[Event]) -> list[Event]:
        if not self.cured and any(e.message_id == POISON for e in events):
            raise OverflowError("date value out of range")
        return self.engine.process(state, events)


@pytest.fixture
def engine() -> Engine:
    return Engine(ManualClock(T0))


@pytest.fixture
def committer(store: SqlStore, engine: Engine) -> Iterator[tuple[GroupCommitter, Poisoned]]:
    poisoned = Poisoned(engine)
    c = GroupCommitter(store, process=poisoned, timers=engine.repair_timers)
    yield c, poisoned
    c.stop()


def stored(store: SqlStore, user: str) -> list[Event]:
    return store.events(user_id=user, derived=False)


async def submit_together(c: GroupCommitter, jobs: list[list[Event]]) -> list[Any]:
    """Queue every job before the committer starts, so that they share one commit."""
    tasks = [asyncio.ensure_future(c.submit(job)) for job in jobs]
    await asyncio.sleep(0.05)
    c.start()
    return await asyncio.gather(*tasks)


def test_the_poisoned_event_alone_is_quarantined(
    store: SqlStore, committer: tuple[GroupCommitter, Poisoned]
) -> None:
    c, _ = committer
    jobs = [
        [event("a-1", "ann"), event("a-2", "ann")],
        [event("b-1", "bob"), event(POISON, "bob"), event("b-2", "bob")],
        [event("c-1", "cy")],
    ]
    receipts = asyncio.run(submit_together(c, jobs))
    assert [(r.stored, r.duplicates, r.quarantined) for r in receipts] == [
        (2, 0, 0),
        (2, 0, 1),
        (1, 0, 0),
    ]
    for user, ids in (("ann", ["a-1", "a-2"]), ("bob", ["b-1", "b-2"]), ("cy", ["c-1"])):
        found = stored(store, user)
        assert [e.message_id for e in found] == ids  # in order
        assert all(e.profile_id for e in found)  # and processed
    [row] = store.failed()
    assert (row.code, row.message_id) == ("unprocessable", POISON)
    assert "OverflowError" in row.reason
    assert c.failing is None


def test_a_quarantined_event_replays_once_the_cause_is_fixed(
    store: SqlStore, committer: tuple[GroupCommitter, Poisoned]
) -> None:
    c, poisoned = committer
    c.start()
    c.submit_sync([event(POISON, "bob")])
    assert stored(store, "bob") == []
    poisoned.cured = True
    ingestor = Ingestor(c, ManualClock(T0))
    result = replay_failed(store, ingestor, store.failed())
    assert len(result.replayed) == 1, result.still_failing
    [back] = stored(store, "bob")
    assert (back.message_id, back.timestamp, back.properties["price"]) == (POISON, T0, 10.0)
    assert back.profile_id


def test_a_timer_that_cannot_fire_is_set_aside_and_the_rest_fire(
    store: SqlStore,
    engine: Engine,
    committer: tuple[GroupCommitter, Poisoned],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    c, _ = committer
    c.start()
    c.submit_sync([event("a-1", "ann")])
    [first] = stored(store, "ann")
    assert first.profile_id is not None
    profile = first.profile_id
    timers = {
        key: ScheduleTimer(
            key=key, kind="test", profile_id=profile, due_at=T0 + dt.timedelta(minutes=n)
        )
        for n, key in enumerate(("good-1", "bad", "good-2"), start=1)
    }

    def schedule(state: StateSql, _events: list[Event]) -> list[Event]:
        state.save_timers(timers)
        return []

    c.run_sync(schedule)
    fired: list[str] = []
    real_fire = pipeline.fire

    def fire(timer: ScheduleTimer, *args: Any, **kwargs: Any) -> Any:
        if timer.key == "bad":
            raise ValueError("cannot fire \x00")  # a NUL, as an error quoting data may hold
        fired.append(timer.key)
        return real_fire(timer, *args, **kwargs)

    monkeypatch.setattr(pipeline, "fire", fire)
    assert isinstance(engine.clock, ManualClock)
    engine.clock.set(T0 + dt.timedelta(hours=1))
    c.tick_sync()
    assert fired[-2:] == ["good-1", "good-2"]  # (the failed commit's tries rolled back)
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(tables.timers)).scalar() == 0
    [dead] = store.failed(status="dead")
    assert (dead.code, dead.type_hint) == ("timer_failed", "timer")
    assert '"key":"bad"' in dead.payload
    c.submit_sync([event("a-2", "ann")])  # and the store goes on
    assert [e.message_id for e in stored(store, "ann")] == ["a-1", "a-2"]
