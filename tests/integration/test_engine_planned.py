"""The engine behind the log works a batch out before it takes SQLite's write lock
(``unit_of_work.reapply``'s ``plan``), so that ingestion's commits do not wait while it
works; a change by another connection in between makes it work the batch out again under
the lock. On PostgreSQL, which locks rows and not the log, it works in the unit."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable, Iterator
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa

from juncture import wiring
from juncture.core import messages
from juncture.core.events import Event
from juncture.core.profile.model import Profile
from juncture.runtime.clock import ManualClock
from juncture.runtime.engine import Engine
from juncture.runtime.follower import ENGINE, PLAN_FROM_EVENTS
from juncture.runtime.unit_of_work import Advance, Planned, commit, reapply
from juncture.store import tables
from juncture.store.sql import SqlStore
from juncture.store.state import StateSql
from tests.conftest import settings_for

T0 = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)
HELD = 10.0  # seconds a held step waits at most for the test to let it go


def viewed(message_id: str, anon: str = "a1") -> Event:
    return Event(
        source="src_a",
        message_id=message_id,
        type="track",
        event="Product Viewed",
        anonymous_id=anon,
        timestamp=T0,
        received_at=T0,
        properties={"product_id": "P1", "category": "Shoes"},
        context={"channel": "web"},
    )


def views_of(store: SqlStore, anon: str = "a1") -> int:
    t, p = tables.identities, tables.profiles
    with store.engine.connect() as conn:
        pid = conn.execute(
            sa.select(t.c.profile_id).where(t.c.identifier == f"anonymous_id:{anon}")
        ).scalar_one()
        body = conn.execute(sa.select(p.c.body).where(p.c.profile_id == pid)).scalar_one()
    return msgspec.json.decode(body, type=Profile).event_counts.get("Product Viewed", 0)


def _append(store: SqlStore, events: list[Event]) -> None:
    """Append to the log only, as ingestion does with the engine behind it."""
    writer = store.writer()
    try:
        commit(writer, events)
    finally:
        writer.close()


class Held:
    """Wraps the engine's work so that it stops, once, until the test lets it go."""

    def __init__(self) -> None:
        self.working = threading.Event()
        self.go = threading.Event()
        self.runs = 0

    def wrap(self, work: Callable[[StateSql, list[Event]], Any]) -> Any:
        def held(state: StateSql, events: list[Event]) -> Any:
            self.runs += 1
            if self.runs == 1:
                self.working.set()
                assert self.go.wait(HELD)
            return work(state, events)

        return held


def _apply_behind(
    store: SqlStore, engine: Engine, held: Held, *, planned: bool
) -> tuple[threading.Thread, list[BaseException]]:
    """The engine applies the stored log (seq 1 on) in a thread of its own, as the
    follower does: its work held by ``held`` (in the plan, or in the unit)."""
    failures: list[BaseException] = []

    def run() -> None:
        writer = store.writer()
        try:
            batch = writer.events_after(0, 100)
            advance = Advance(ENGINE, 0, batch[-1].seq, T0)
            if planned:
                plan = held.wrap(engine.plan)
                reapply(writer, batch, engine.process, advance, plan=plan)
            else:
                reapply(writer, batch, held.wrap(engine.process), advance)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            failures.append(exc)
        finally:
            writer.close()

    thread = threading.Thread(target=run)
    thread.start()
    assert held.working.wait(HELD)
    return thread, failures


def _ingest_meanwhile(store: SqlStore, message_id: str) -> threading.Event:
    """Ingestion appends one event on a writer of its own; set when it has committed."""
    done = threading.Event()

    def run() -> None:
        writer = store.writer()
        try:
            commit(writer, [viewed(message_id, anon="a2")])
            done.set()
        finally:
            writer.close()

    threading.Thread(target=run, daemon=True).start()
    return done


@pytest.fixture
def sqlite_store(sqlite_url: str) -> Iterator[SqlStore]:
    store = SqlStore(sqlite_url)
    yield store
    store.close()


def test_ingestion_commits_while_the_engine_works_out_a_batch(sqlite_store: SqlStore) -> None:
    store = sqlite_store
    _append(store, [viewed(f"m{i}") for i in range(3)])
    engine, held = Engine(ManualClock(T0)), Held()
    thread, failures = _apply_behind(store, engine, held, planned=True)
    done = _ingest_meanwhile(store, "late")
    committed = done.wait(5)
    held.go.set()
    thread.join(HELD)
    assert committed, "ingestion waited for the engine's work"
    assert not failures
    assert views_of(store) == 3
    assert held.runs == 1  # nothing changed the engine's tables meanwhile: worked out once
    assert store.log_positions.position(ENGINE) == 3


def test_work_done_in_the_unit_holds_ingestion_up(sqlite_store: SqlStore) -> None:
    """What the test above would see without the plan: the unit holds the write lock
    while the engine works (so that test can tell)."""
    store = sqlite_store
    _append(store, [viewed(f"m{i}") for i in range(3)])
    engine, held = Engine(ManualClock(T0)), Held()
    thread, failures = _apply_behind(store, engine, held, planned=False)
    done = _ingest_meanwhile(store, "late")
    committed = done.wait(1)
    held.go.set()
    thread.join(HELD)
    assert not committed
    assert done.wait(HELD)
    assert not failures and views_of(store) == 3


def test_a_change_by_another_connection_meanwhile_is_worked_in_again(
    sqlite_store: SqlStore,
) -> None:
    """The profile read before the lock was changed by another connection (an import
    of counts, say) before the engine wrote: the engine works the batch out again under
    the lock, from the profile as it is then, rather than write over the change."""
    store = sqlite_store
    engine = Engine(ManualClock(T0))
    writer = store.writer()
    commit(writer, [viewed("m0")], [], engine.process)  # the profile: 1 view
    commit(writer, [viewed("m1")])  # in the log, for the engine behind it
    writer.close()
    held = Held()
    failures: list[BaseException] = []

    def run() -> None:
        writer = store.writer()
        try:
            batch = writer.events_after(1, 100)
            advance = Advance(ENGINE, 0, batch[-1].seq, T0)
            reapply(writer, batch, engine.process, advance, plan=held.wrap(engine.plan))
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            failures.append(exc)
        finally:
            writer.close()

    thread = threading.Thread(target=run)
    thread.start()
    assert held.working.wait(HELD)
    p = tables.profiles
    with store.engine.begin() as conn:  # another connection sets the count to 100
        body = conn.execute(sa.select(p.c.body)).scalar_one()
        profile = msgspec.json.decode(body, type=Profile)
        counts = {**profile.event_counts, "Product Viewed": 100}
        changed = msgspec.structs.replace(profile, event_counts=counts)
        conn.execute(sa.update(p).values(body=msgspec.json.encode(changed)))
    held.go.set()
    thread.join(HELD)
    assert not failures
    assert views_of(store) == 101
    assert held.runs == 1  # the second time in the unit (engine.process), not held


def test_on_postgresql_the_engine_works_in_the_unit(postgres_url: str) -> None:
    store = SqlStore(postgres_url)
    try:
        _append(store, [viewed(f"m{i}") for i in range(3)])
        engine = Engine(ManualClock(T0))
        plans: list[Planned] = []

        def plan(state: StateSql, events: list[Event]) -> Planned:
            plans.append(engine.plan(state, events))
            return plans[-1]

        writer = store.writer()
        batch = writer.events_after(0, 100)
        reapply(writer, batch, engine.process, Advance(ENGINE, 0, 3, T0), plan=plan)
        writer.close()
        assert plans == []
        assert views_of(store) == 3
    finally:
        store.close()


def test_ingestion_commits_while_the_engine_fires_due_timers(sqlite_store: SqlStore) -> None:
    """The timer tick (a commit of no events) is worked out before the lock too."""
    store = sqlite_store
    clock = ManualClock(T0)
    engine = Engine(clock)
    added = msgspec.structs.replace(
        viewed("add"), event="Product Added", properties={"product_id": "P1", "price": 30.0}
    )
    writer = store.writer()
    commit(writer, [added], [], engine.process)  # arms the cart's abandonment timer
    with store.engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(tables.timers)).scalar()
    clock.set(T0 + dt.timedelta(days=2))
    held, failures = Held(), []

    def tick() -> None:
        try:
            commit(writer, [], [], engine.process, plan=held.wrap(engine.plan))
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            failures.append(exc)

    thread = threading.Thread(target=tick)
    thread.start()
    assert held.working.wait(HELD)
    done = _ingest_meanwhile(store, "late")
    committed = done.wait(5)
    held.go.set()
    thread.join(HELD)
    writer.close()
    assert committed, "ingestion waited for the timers' work"
    assert not failures
    assert store.event_counts().get("Cart Abandoned") == 1


def test_the_follower_plans_a_large_batch_and_works_a_small_one_in_its_unit(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A backlog (the engine behind) is worked out before the lock; what arrives while it
    keeps up is worked in the unit (``follower.PLAN_FROM_EVENTS``)."""
    sizes: list[int] = []
    plan = Engine.plan

    def counted(self: Engine, state: StateSql, events: list[Event]) -> Planned:
        sizes.append(len(events))
        return plan(self, state, events)

    monkeypatch.setattr(Engine, "plan", counted)
    backlog = 2 * PLAN_FROM_EVENTS
    store = SqlStore(sqlite_url)
    _append(store, [viewed(f"m{i}", anon=f"a{i % 7}") for i in range(backlog)])
    store.close()
    juncture = wiring.build(
        settings_for(sqlite_url, engine_mode="behind", engine_process=False),
        clock=ManualClock(T0),
    )
    try:
        assert juncture.follower is not None
        assert juncture.follower.wait_for(backlog, 60)
        assert sizes == [backlog]
        juncture.ingestor.ingest_sync(_views(3), "web")
        assert juncture.follower.wait_for(juncture.committer.head, 60)
        assert sizes == [backlog]  # the three: in the unit
    finally:
        juncture.close()


def _views(count: int) -> messages.Envelope:
    body = {
        "batch": [
            {
                "type": "track",
                "event": "Product Viewed",
                "messageId": f"late{n}",
                "anonymousId": "a1",
                "timestamp": T0.isoformat(),
                "properties": {"product_id": "P1"},
            }
            for n in range(count)
        ]
    }
    return messages.parse_batch(msgspec.json.encode(body))
