"""``juncture bench engine`` and ``juncture bench timers``: the engine in process, no HTTP.

``engine``: the bench's product-view events (as ``bench ingest`` sends them) appended by the
store's writer in commits of ``commit_events``, once with the engine (identity, profile,
signals, stage, timers in the same transaction) and once without, on fresh SQLite
databases; the raw limit is plain ``executemany`` of the same rows, measured in the same run.

``timers``: ``timers`` shoppers each add to cart (setting up one cart-abandonment timer
each, not timed), then the clock passes the quiet period and the engine fires every due
timer, in commits of up to ``runtime.engine.TIMERS_PER_COMMIT``, storing a ``Cart
Abandoned`` event per timer. The raw limit is the same SQL without the engine: select the
due timers, delete them and insert one event each, per commit of the same size.

Both are bounded by their counts and stop early past ``max_seconds``.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from juncture.bench import breakdown as timed
from juncture.bench.ingest import default_shoppers, make_batches, raw_rate, rows_of
from juncture.core.events import Event
from juncture.runtime.clock import ManualClock, SystemClock
from juncture.runtime.engine import TIMERS_PER_COMMIT, Engine
from juncture.runtime.unit_of_work import Processor, commit
from juncture.store import raw_limits, tallies
from juncture.store.sql import SqlStore

Echo = Callable[[str], None]
T0 = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)


def _store(path: Path) -> SqlStore:
    store = SqlStore(
        f"sqlite:///{path}",
        sqlite_synchronous=os.environ.get("JUNCTURE_SQLITE_SYNCHRONOUS", "FULL"),
    )
    store.migrate()
    return store


def _append_rate(
    path: Path,
    events: list[Event],
    commit_events: int,
    process: Processor | None,
    instrument: Callable[[Any], None] | None = None,
) -> float:
    store = _store(path)
    writer = store.writer()
    if instrument is not None:
        instrument(writer)
    started = time.perf_counter()
    for start in range(0, len(events), commit_events):
        commit(writer, events[start : start + commit_events], [], process)
    seconds = time.perf_counter() - started
    writer.close()
    store.close()
    return len(events) / seconds


def run_engine(
    *,
    events: int,
    commit_events: int,
    echo: Echo,
    shoppers: int | None = None,
    breakdown: bool = False,
) -> dict[str, Any]:
    shoppers = shoppers if shoppers is not None else default_shoppers(events)
    rows = rows_of(make_batches(events, shoppers=shoppers))
    echo(
        f"[engine] {len(rows):,} events from {shoppers:,} shoppers in commits of "
        f"{commit_events:,}, in process ..."
    )
    with tempfile.TemporaryDirectory(prefix="juncture-bench-") as tmp:
        raw = raw_rate(f"sqlite:///{Path(tmp) / 'raw.db'}", rows)
        ingest = _append_rate(Path(tmp) / "ingest.db", rows, commit_events, None)
        engine = Engine(SystemClock())
        with_engine = _append_rate(Path(tmp) / "engine.db", rows, commit_events, engine.process)
        if breakdown:  # once more, each statement the writer runs timed
            spent = timed.new()
            rate = _append_rate(
                Path(tmp) / "timed.db",
                rows,
                commit_events,
                Engine(SystemClock()).process,
                timed.instrument(spent),
            )
    result: dict[str, Any] = {
        "cores": os.cpu_count(),
        "events": len(rows),
        "commit_events": commit_events,
        "shoppers": shoppers,
        "engine_events_per_s": with_engine,
        "ingest_only_events_per_s": ingest,
        "raw_rows_per_s": raw,
        "ratio": with_engine / raw,
        "engine_errors": engine.errors,
    }
    echo(
        f"[engine] with engine {with_engine:,.0f} events/s | ingest only {ingest:,.0f} "
        f"events/s | raw insert {raw:,.0f} rows/s | ratio {with_engine / raw:.2f} "
        f"(engine/ingest only {with_engine / ingest:.2f})"
    )
    if breakdown:
        result["us_per_event"] = timed.report(spent, len(rows), rate, commit_events, echo)
    return result


def _carts(count: int) -> list[Event]:
    return [
        Event(
            source="src_bench",
            message_id=f"cart-{i}",
            type="track",
            event="Product Added",
            anonymous_id=f"anon-{i}",
            timestamp=T0 + dt.timedelta(microseconds=i),
            received_at=T0,
            properties={"product_id": f"P{i % 5000:05d}", "price": 89.95, "quantity": 1},
            context={"channel": "web"},
        )
        for i in range(count)
    ]


def _fire_rate(path: Path, count: int, max_seconds: float) -> tuple[float, int]:
    store = _store(path)
    clock = ManualClock(T0)
    engine = Engine(clock)
    writer = store.writer()
    carts = _carts(count)
    for start in range(0, count, 2000):
        commit(writer, carts[start : start + 2000], [], engine.process)
    clock.set(T0 + dt.timedelta(hours=1))
    due = tallies.timers_due(store, clock.now())
    started = time.perf_counter()
    while time.perf_counter() - started < max_seconds:
        if not commit(writer, [], [], engine.process).stored:
            break
    seconds = time.perf_counter() - started
    writer.close()
    fired = due - tallies.timers_due(store, clock.now())
    store.close()
    return fired / seconds, fired


def _raw_fire_rate(path: Path, count: int) -> float:
    """The raw limit: the same SQL without the engine (select the due timers, delete them,
    insert one event each), per commit of the engine's size."""
    store = _store(path)
    try:
        return raw_limits.fire_cart_timers(
            store,
            count,
            due=T0,
            now=T0 + dt.timedelta(hours=1),
            fired_at=T0 + dt.timedelta(minutes=30),
            per_commit=TIMERS_PER_COMMIT,
        )
    finally:
        store.close()


def run_timers(*, timers: int, max_seconds: float, echo: Echo) -> dict[str, Any]:
    echo(f"[timers] {timers:,} cart-abandonment timers, fired in event time ...")
    with tempfile.TemporaryDirectory(prefix="juncture-bench-") as tmp:
        rate, fired = _fire_rate(Path(tmp) / "engine.db", timers, max_seconds)
        raw = _raw_fire_rate(Path(tmp) / "raw.db", timers)
    echo(
        f"[timers] fired {rate:,.0f} timers/s ({fired:,} fired) | raw select+delete+insert "
        f"{raw:,.0f} timers/s | ratio {rate / raw:.2f}"
    )
    return {
        "cores": os.cpu_count(),
        "timers": timers,
        "fired": fired,
        "timers_per_s": rate,
        "raw_timers_per_s": raw,
        "ratio": rate / raw,
    }
