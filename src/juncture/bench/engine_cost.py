"""``juncture bench engine``'s cost: the engine's own CPU per event, in process, the SQL
and the Python sides apart.

The simulated retailer (:mod:`juncture.sim`: ``customers`` shoppers over ``days`` days;
product views, clicks, lists, searches, adds, carts, checkouts, orders, sign-ins, email
and push engagement, surveys, store visits, as its personas do them) is stored in the log
first, as ingestion stores it (commits of 2,000 events, no engine), each event received
as in a live shop and in ``juncture demo``: at the end of the simulation's ten-minute step
it happened in, well within ``JUNCTURE_JOURNEY_ENTRY_LAG_HOURS``, so journeys start on
it, their timers fire in event time and the outbox fills. Then the engine
applies the log behind it as ``LogFollower`` does: batches of up to 2,000 client events
read on its writer's connection (``Writer.events_after``), each worked out from a read
that holds no lock and then written with the log position in one transaction
(``unit_of_work.reapply`` with the engine's ``plan``), its clock in event time (each
batch's last event, as replay runs). The first half of the log is applied unmeasured, so
that the measured half meets profiles that exist, with their histories, timers,
enrollments and the writer's cache.

What is on: the engine as ``juncture serve`` builds it from default settings, with the
eleven shipped journeys applied (``journeys apply --library``); then the same with the
eight shipped segments applied too (``segments apply --library``). Journey conditions
that count recommendations see 0 (no recommender is trained here, as in a worker).

Measured over the second half: the process's CPU time (every thread: nothing else runs);
the SQL side is the CPU time spent inside the driver's calls on the engine's connection
(each statement, its fetches and the COMMIT, by the thread's CPU clock), the Python side
the rest; the time the write lock was held (each unit from ``BEGIN IMMEDIATE`` to the end
of its COMMIT: what ingestion beside the engine could wait), per event and at most; and
what the journeys did in it: the enrollments started, the timers fired and the outbox rows
written. SQLite, ``synchronous`` as ``JUNCTURE_SQLITE_SYNCHRONOUS`` says (FULL by
default): the fsync waits are in the wall time, not in the CPU time.
"""

from __future__ import annotations

import datetime as dt
import gc
import os
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Final, TypeVar

import orjson

from juncture.core import messages
from juncture.core.events import Event
from juncture.definitions import segments as segment_definitions
from juncture.runtime import heap
from juncture.runtime.clock import ManualClock
from juncture.runtime.engine import Engine
from juncture.runtime.follower import ENGINE
from juncture.runtime.membership import StoredSegments
from juncture.runtime.segments import Segments
from juncture.runtime.unit_of_work import Advance, commit, reapply
from juncture.settings import Settings, source_of
from juncture.sim import SEND_STEP, SimConfig, Simulation
from juncture.store.base import Writer
from juncture.store.sql import SqlStore
from juncture.store.state import Due, StateSql
from juncture.wiring.config import engine_config

Echo = Callable[[str], None]
START: Final = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
BATCH: Final = 2000  # the follower's default (``engine_batch_events``)
Spent = defaultdict[str, float]  # CPU seconds inside the driver, by statement kind


def simulated(customers: int, days: int, seed: int = 1) -> list[Event]:
    """The simulated retailer's messages as ingestion normalizes them, in time order, each
    received as ``juncture demo`` receives it: at the end of the simulation's step
    (:data:`SEND_STEP`) it happened in, so that journeys start on it as in a live shop."""
    sim = Simulation(SimConfig(start=START, seed=seed, customers=customers, days=days))
    events: list[Event] = []
    for found in sim.iter_batches(SEND_STEP):
        for start in range(0, len(found), 100):
            body = orjson.dumps({"batch": found[start : start + 100]})
            batch, _ = messages.normalize(
                messages.parse_batch(body), source=source_of("bench"), received_at=sim.now
            )
            events.extend(batch)
    return events


def _kind(sql: str) -> str:
    """``INSERT events``, ``UPDATE profiles``, ``SELECT``, ``COMMIT``: what a statement does."""
    words = sql.split(None, 3)
    if words[0] in ("INSERT", "DELETE") and len(words) > 2:
        return f"{words[0]} {words[2]}"
    if words[0] == "UPDATE" and len(words) > 1:
        return f"UPDATE {words[1]}"
    return words[0]


class _Collector:
    """The CPU time the cycle collector takes, from its callbacks (while in the block)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        self._started = 0.0

    def __enter__(self) -> _Collector:
        gc.callbacks.append(self._note)
        return self

    def __exit__(self, *_: object) -> None:
        gc.callbacks.remove(self._note)

    def _note(self, phase: str, _info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.thread_time()
        else:
            self.seconds += time.thread_time() - self._started


class _CpuCursor:
    """A sqlite3 cursor whose calls add the thread's CPU time in them to ``spent``."""

    def __init__(self, cursor: Any, spent: Spent) -> None:
        self._cursor, self._spent = cursor, spent
        self._last = "SELECT"

    def execute(self, sql: str, *args: Any) -> _CpuCursor:
        started = time.thread_time()
        self._cursor.execute(sql, *args)
        self._last = _kind(sql)
        self._spent[self._last] += time.thread_time() - started
        return self

    def executemany(self, sql: str, rows: Any) -> _CpuCursor:
        rows = list(rows)  # built before the clock starts
        started = time.thread_time()
        self._cursor.executemany(sql, rows)
        self._spent[_kind(sql)] += time.thread_time() - started
        return self

    def fetchone(self) -> Any:
        started = time.thread_time()
        row = self._cursor.fetchone()
        self._spent[self._last] += time.thread_time() - started
        return row

    def fetchall(self) -> list[Any]:
        started = time.thread_time()
        rows = self._cursor.fetchall()
        self._spent[self._last] += time.thread_time() - started
        return rows  # type: ignore[no-any-return]

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


class _CpuConnection:
    def __init__(self, conn: Any, spent: Spent) -> None:
        self._conn, self._spent = conn, spent

    def cursor(self) -> _CpuCursor:
        return _CpuCursor(self._conn.cursor(), self._spent)

    def execute(self, sql: str, *args: Any) -> _CpuCursor:
        return self.cursor().execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def _timed_writer(store: SqlStore, spent: Spent, held: list[float]) -> Writer:
    """The store's SQLite writer, every driver call on its connection timed into ``spent``
    and each unit's time (the write lock held, from BEGIN IMMEDIATE to the end of its
    COMMIT) added to ``held`` (the bench's own tool: it swaps the writer's connection
    for a timing one, and wraps its units)."""
    writer: Any = store.writer()
    writer._conn = _CpuConnection(writer._conn, spent)
    unit = writer.unit

    @contextmanager
    def timed() -> Iterator[Any]:
        started = time.perf_counter()
        try:
            with unit() as opened:
                yield opened
        finally:
            held.append(time.perf_counter() - started)

    writer.unit = timed
    return writer  # type: ignore[no-any-return]


_Work = TypeVar("_Work")


def _counting_timers(
    work: Callable[[StateSql, list[Event]], _Work], fired: list[int]
) -> Callable[[StateSql, list[Event]], _Work]:
    """``work`` (the engine's ``process`` or ``plan``), adding to ``fired`` how many due
    timers each commit takes (and fires in it): the bench's own tool, it wraps the state's
    read of the due timers."""

    def counting(state: StateSql, events: list[Event]) -> _Work:
        due = state.due_timers

        def counted(now: dt.datetime, limit: int) -> list[Due]:
            found = due(now, limit)
            fired.append(len(found))
            return found

        state.due_timers = counted  # type: ignore[method-assign]
        return work(state, events)

    return counting


def _follow(
    writer: Writer, engine: Engine, fired: list[int], clock: ManualClock, span: tuple[int, int]
) -> int:
    """Apply the client events after seq ``span[0]`` up to seq ``span[1]`` as the follower
    does (the work before the write lock, the writes under it); how many were applied."""
    process = _counting_timers(engine.process, fired)
    plan = _counting_timers(engine.plan, fired)
    applied = 0
    position, last = span
    while position < last:
        batch = [e for e in writer.events_after(position, BATCH) if e.seq <= last]
        if not batch:
            break
        clock.set(max(clock.now(), batch[-1].timestamp))
        end = batch[-1].seq
        advance = Advance(ENGINE, position, end, clock.now())
        reapply(writer, batch, process, advance, plan=plan)
        position, applied = end, applied + len(batch)
    return applied


def _journey_work(store: SqlStore) -> tuple[int, int]:
    """How many enrollments and outbox rows the store holds."""
    return len(store.journey_report().entries), sum(store.outbox.counts_by_status().values())


def _store(path: Path) -> SqlStore:
    sync = os.environ.get("JUNCTURE_SQLITE_SYNCHRONOUS", "FULL")
    store = SqlStore(f"sqlite:///{path}", sqlite_synchronous=sync)
    store.migrate()
    return store


def _apply_shipped(store: SqlStore, clock: ManualClock, segments: bool) -> tuple[int, int]:
    """Apply the shipped journeys, and the shipped segments when asked; how many of each."""
    with store.journeys_at(clock.now) as journeys:
        applied = len(journeys.apply_library())
    if not segments:
        return applied, 0
    ops = Segments(store.segments)
    paths = segment_definitions.library()
    for path in paths:
        ops.apply(path.read_text(encoding="utf-8"), str(path), clock.now())
    return applied, len(paths)


def measure(path: Path, events: list[Event], *, segments: bool) -> dict[str, Any]:
    """The engine's CPU per event over the second half of ``events`` (see the module)."""
    store = _store(path)
    clock = ManualClock(START)
    journeys, shipped = _apply_shipped(store, clock, segments)
    settings = Settings(database_url=f"sqlite:///{path}")
    engine = Engine(
        clock,
        engine_config(settings),
        journeys=store.journeys,
        segments=StoredSegments() if segments else None,
    )
    spent: Spent = defaultdict(float)
    held: list[float] = []
    writer = _timed_writer(store, spent, held)
    stored = []
    for start in range(0, len(events), BATCH):  # ingestion: the log only
        stored += commit(writer, events[start : start + BATCH]).stored
    half, last = stored[len(stored) // 2 - 1].seq, stored[-1].seq
    fired: list[int] = []
    _follow(writer, engine, fired, clock, (0, half))
    heap.settle()  # as juncture serve (and juncture engine) do once built
    spent.clear()
    fired.clear()
    held.clear()
    derived_before = store.count_events()
    enrolled_before, outbox_before = _journey_work(store)
    with _Collector() as collector:
        cpu, wall = time.process_time(), time.perf_counter()
        applied = _follow(writer, engine, fired, clock, (half, last))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    derived = store.count_events() - derived_before
    enrolled, outbox = _journey_work(store)
    writer.close()
    store.close()
    sql = sum(spent.values())
    per = 1e6 / applied
    return {
        "journeys": journeys,
        "segments": shipped,
        "applied": applied,
        "derived_per_event": derived / applied,
        "enrollments": enrolled - enrolled_before,
        "timers_fired": sum(fired),
        "outbox_rows": outbox - outbox_before,
        "cpu_us_per_event": cpu * per,
        "sql_cpu_us_per_event": sql * per,
        "python_cpu_us_per_event": (cpu - sql) * per,
        "collector_cpu_us_per_event": collector.seconds * per,
        "wall_us_per_event": wall * per,
        # the write lock held (each unit, its COMMIT's fsync included), per event, and the
        # longest hold: what an ingestion commit beside the engine could wait
        "lock_us_per_event": sum(held) * per,
        "lock_max_ms": max(held, default=0.0) * 1e3,
        "errors": engine.errors,
        "sql_us_by_statement": {
            k: round(v * per, 1) for k, v in sorted(spent.items(), key=lambda kv: -kv[1])
        },
    }


def run_cost(*, customers: int, days: int, echo: Echo) -> dict[str, Any]:
    events = simulated(customers, days)
    echo(
        f"[engine cost] the simulated retailer: {customers:,} shoppers over {days} days, "
        f"{len(events):,} events; the engine applies the log behind it, the first half "
        "unmeasured, then the second (CPU per event of the second half) ..."
    )
    result: dict[str, Any] = {"customers": customers, "days": days, "events": len(events)}
    with tempfile.TemporaryDirectory(prefix="juncture-bench-") as tmp:
        for label, segments in (("journeys", False), ("journeys_and_segments", True)):
            found = result[label] = measure(Path(tmp) / f"{label}.db", events, segments=segments)
            top = ", ".join(f"{k} {v}" for k, v in list(found["sql_us_by_statement"].items())[:5])
            what = f"{found['journeys']} shipped journeys" + (
                f" + {found['segments']} shipped segments" if segments else ""
            )
            echo(
                f"[engine cost] {what}: CPU {found['cpu_us_per_event']:.1f} us/event = SQL "
                f"{found['sql_cpu_us_per_event']:.1f} + Python "
                f"{found['python_cpu_us_per_event']:.1f} (the cycle collector "
                f"{found['collector_cpu_us_per_event']:.1f}; wall "
                f"{found['wall_us_per_event']:.0f} us, the write lock held "
                f"{found['lock_us_per_event']:.0f} us of it, {found['lock_max_ms']:.0f} ms at "
                f"most; {found['applied']:,} events measured, "
                f"{found['derived_per_event']:.2f} derived per event; "
                f"{found['enrollments']:,} enrollments, {found['timers_fired']:,} timers fired, "
                f"{found['outbox_rows']:,} outbox rows) | SQL by statement: {top}"
            )
    return result
