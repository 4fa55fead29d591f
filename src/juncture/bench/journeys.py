"""``juncture bench journeys``: the shipped post-purchase journey in process, no HTTP.

``latency``: ``Order Completed`` events offered at a steady rate (open loop: each event is
due at ``i / rate`` seconds, and its latency counts from then, so a slow commit is not
hidden by the events it delays) through the real ingestion path and group committer. The
journey's first node sends the order confirmation, so the outbox row commits in the
event's own transaction: the latency is submit to committed outbox row. The raw limit is
one event row and one outbox row of the same shape inserted and committed per
transaction, measured in the same run on a fresh database of the same kind.

``timers``: ``timers`` orders each leave an enrollment waiting on the journey's
three-day ``wait`` node (not timed); the manual clock then passes the wait and the
scheduler's ticks fire them (each sends the care-tips email and sets the next wait). The
raw limit is the same SQL without the engine: select the due timers, delete them and
insert one outbox row each, per commit of ``runtime.engine.TIMERS_PER_COMMIT``.

Both are bounded: at most ``rate * max_seconds`` events and ``max_seconds`` of firing.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import msgspec
import orjson

from juncture import wiring
from juncture.core import messages
from juncture.core.journeys.catalog import Catalog
from juncture.core.journeys.orchestrate import JOURNEY_TIMER
from juncture.definitions import journeys as journey_definitions
from juncture.runtime.clock import Clock, ManualClock, SystemClock
from juncture.runtime.engine import TIMERS_PER_COMMIT, StaticJourneys
from juncture.settings import Settings
from juncture.store import raw_limits, scratch, tallies
from juncture.store.sql import SqlStore

Echo = Callable[[str], None]
Urls = Callable[[str], AbstractContextManager[str]]
JOURNEY = "post_purchase"
T0 = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
CUSTOMERS = 500


def percentiles(latencies: list[float]) -> dict[str, float]:
    """p50 and p99 in milliseconds.

    >>> percentiles([0.001 * i for i in range(1, 101)])
    {'p50_ms': 51.0, 'p99_ms': 100.0}
    """
    ordered = sorted(latencies)

    def at(q: float) -> float:
        return round(ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000, 3)

    return {"p50_ms": at(0.5), "p99_ms": at(0.99)}


def _juncture(url: str, clock: Clock) -> wiring.Juncture:
    journey = next(j for j in journey_definitions.load_library() if j.id == JOURNEY)
    return wiring.build(
        Settings(database_url=url, engine_mode="inline"),  # the outbox row in the event's commit
        clock=clock,
        journeys=StaticJourneys(Catalog.of([journey])),
    )


def _envelope(batch: list[dict[str, Any]]) -> messages.Envelope:
    return messages.Envelope(messages=[msgspec.Raw(orjson.dumps(m)) for m in batch], single=False)


def _customers(juncture: wiring.Juncture, at: dt.datetime, run: str) -> None:
    consent = {"email": {"marketing": True}}
    people = [
        {"type": "identify", "userId": f"c{i}", "messageId": f"{run}-id-{i}",
         "timestamp": at.isoformat(),
         "traits": {"email": f"c{i}@example.com", "first_name": "Ada", "consent": consent}}
        for i in range(CUSTOMERS)
    ]  # fmt: skip
    juncture.ingestor.ingest_sync(_envelope(people), "bench")


def _order(run: str, i: int, at: dt.datetime) -> dict[str, Any]:
    return {
        "type": "track", "event": "Order Completed", "userId": f"c{i % CUSTOMERS}",
        "messageId": f"{run}-order-{i}", "timestamp": at.isoformat(),
        "properties": {"order_id": f"{run}-o{i}", "total": 89.95, "currency": "EUR",
                       "products": [{"product_id": f"P{i % 500}", "price": 89.95}]},
    }  # fmt: skip


async def _offer(
    juncture: wiring.Juncture, orders: list[dict[str, Any]], rate: float
) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    stored = 0
    start = time.perf_counter()

    async def one(i: int, order: dict[str, Any]) -> None:
        nonlocal stored
        due = start + i / rate
        await asyncio.sleep(max(0.0, due - time.perf_counter()))
        outcome = await juncture.ingestor.ingest(_envelope([order]), "bench")
        latencies.append(time.perf_counter() - due)
        stored += outcome.receipt.stored

    await asyncio.gather(*(one(i, o) for i, o in enumerate(orders)))
    return latencies, stored, time.perf_counter() - start


def engine_latency(url: str, events: int, rate: float) -> dict[str, Any]:
    juncture = _juncture(url, SystemClock())
    try:
        now = dt.datetime.now(dt.UTC)
        _customers(juncture, now, "lat")
        orders = [_order("lat", i, now) for i in range(events)]
        latencies, stored, seconds = asyncio.run(_offer(juncture, orders, rate))
        confirmations = tallies.outbox_from_node(juncture.store, "confirmation")
        samples = tallies.samples(juncture.store, JOURNEY_TIMER)
    finally:
        juncture.close()
    return {
        "events": events, "offered_per_s": rate, "achieved_per_s": round(events / seconds, 1),
        "stored": stored, "outbox_rows": confirmations, **percentiles(latencies),
        "_samples": samples,
    }  # fmt: skip


def _raw_store(url: str) -> SqlStore:
    store = SqlStore(url, sqlite_synchronous=Settings(database_url=url).sqlite_synchronous)
    store.migrate()
    return store


def raw_latency(url: str, events: int, samples: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """One event row and one outbox row per transaction, back to back."""
    store = _raw_store(url)
    try:
        latencies = raw_limits.event_and_outbox(store, events, samples)
    finally:
        store.close()
    return percentiles(latencies)


def engine_timers(url: str, timers: int, max_seconds: float) -> dict[str, Any]:
    clock = ManualClock(T0)
    juncture = _juncture(url, clock)
    try:
        _customers(juncture, T0, "tim")
        for start in range(0, timers, 500):
            batch = [_order("tim", i, T0) for i in range(start, min(timers, start + 500))]
            juncture.ingestor.ingest_sync(_envelope(batch), "bench")
        clock.set(T0 + dt.timedelta(days=3, minutes=1))
        now = clock.now()

        def due() -> int:
            return tallies.timers_due(juncture.store, now, kind=JOURNEY_TIMER)

        before = due()
        started = time.perf_counter()
        while time.perf_counter() - started < max_seconds:
            juncture.tick_sync()
            if due() == 0:
                break
        seconds = time.perf_counter() - started
        fired = before - due()
        sent = tallies.outbox_from_node(juncture.store, "tips")
    finally:
        juncture.close()
    return {"timers": before, "fired": fired, "tips_rows": sent,
            "timers_per_s": round(fired / seconds, 1)}  # fmt: skip


def raw_timers(url: str, timers: int, samples: dict[str, dict[str, Any]]) -> float:
    """Select the due timers, delete them, insert one outbox row each; per commit."""
    store = _raw_store(url)
    try:
        return raw_limits.fire_journey_timers(
            store,
            timers,
            samples,
            due=T0,
            now=T0 + dt.timedelta(days=4),
            per_commit=TIMERS_PER_COMMIT,
        )
    finally:
        store.close()


@contextmanager
def _sqlite(name: str) -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="juncture-bench-") as tmp:
        yield f"sqlite:///{Path(tmp) / f'{name}.db'}"


def bench_store(kind: str, urls: Urls, *, events: int, rate: float, timers: int,
                max_seconds: float, echo: Echo) -> dict[str, Any]:  # fmt: skip
    events = max(1, min(events, int(rate * max_seconds)))
    echo(f"[{kind}] {events:,} orders offered at {rate:,.0f}/s, submit to outbox row ...")
    with urls("latency") as url:
        latency = engine_latency(url, events, rate)
    samples = latency.pop("_samples")
    with urls("raw") as url:
        raw = raw_latency(url, events, samples)
    latency |= {"raw_p50_ms": raw["p50_ms"], "raw_p99_ms": raw["p99_ms"],
                "ratio_p50": round(latency["p50_ms"] / raw["p50_ms"], 2),
                "ratio_p99": round(latency["p99_ms"] / raw["p99_ms"], 2)}  # fmt: skip
    echo(f"[{kind}] event to outbox p50 {latency['p50_ms']:.2f} ms, p99 "
         f"{latency['p99_ms']:.2f} ms ({latency['achieved_per_s']:,.0f} events/s, "
         f"{latency['outbox_rows']:,} rows) | raw insert+commit p50 {raw['p50_ms']:.2f} ms, "
         f"p99 {raw['p99_ms']:.2f} ms | ratio p50 {latency['ratio_p50']:.2f}, "
         f"p99 {latency['ratio_p99']:.2f}")  # fmt: skip
    echo(f"[{kind}] {timers:,} enrollments waiting, fired in event time ...")
    with urls("timers") as url:
        fired = engine_timers(url, timers, max_seconds)
    with urls("raw_timers") as url:
        raw_rate = raw_timers(url, fired["timers"] or timers, samples)
    fired |= {"raw_timers_per_s": round(raw_rate, 1),
              "ratio": round(fired["timers_per_s"] / raw_rate, 3)}  # fmt: skip
    echo(f"[{kind}] fired {fired['timers_per_s']:,.0f} journey timers/s ({fired['fired']:,} "
         f"of {fired['timers']:,}) | raw select+delete+insert {raw_rate:,.0f} timers/s | "
         f"ratio {fired['ratio']:.2f}")  # fmt: skip
    return {"latency": latency, "timers": fired}


def run(*, events: int, rate: float, timers: int, max_seconds: float,
        postgres_url: str | None, echo: Echo) -> dict[str, Any]:  # fmt: skip
    def one(kind: str, urls: Urls) -> dict[str, Any]:
        return bench_store(kind, urls, events=events, rate=rate, timers=timers,
                           max_seconds=max_seconds, echo=echo)  # fmt: skip

    results = {"sqlite": one("sqlite", _sqlite)}
    if postgres_url:
        results["postgres"] = one(
            "postgres", lambda name: scratch.postgres(postgres_url, f"journeys_{name}")
        )
    return results
