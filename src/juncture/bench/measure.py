"""``juncture bench measure``: how long every KPI report, a funnel, the paths and the
touchpoint map (per stage) take over a
database (the demo's by default), each the best of a few runs, against a raw scan that
reads every event's body once (:func:`juncture.store.raw_limits.scan`). The reports are
computed in the database; the ratio says how many raw scans each costs."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from functools import partial
from typing import Any, Final

from juncture.bench import segments
from juncture.core.measures import KpiReport, Period
from juncture.runtime.measurement import Measurement
from juncture.runtime.unit_of_work import AppendResult, Processor
from juncture.store import raw_limits
from juncture.store.funnels import Step
from juncture.store.kpis import KpiQuery
from juncture.store.sql import SqlStore

EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
FUNNEL: Final = (Step("Product Viewed"), Step("Product Added"), Step("Order Completed"))


def _no_writes(_process: Processor) -> AppendResult:
    raise RuntimeError("the measurement bench writes nothing")


def best(work: Callable[[], object], repeats: int) -> float:
    """The fastest of ``repeats`` runs of ``work``, in seconds."""
    found = []
    for _ in range(repeats):
        started = time.perf_counter()
        work()
        found.append(time.perf_counter() - started)
    return min(found)


def fill(database_url: str, events: int, echo: Callable[[str], None]) -> float:
    """Fill an empty database with ``events`` synthetic events and a profile per ten (the
    rows of ``juncture bench segments``: views, adds and orders over two weeks, bulk
    inserted); answers the seconds it took."""
    profiles = max(1, events // 10)
    echo(f"filling {events:,} events and {profiles:,} profiles ...")
    seconds = segments.fill(database_url, profiles, events, seed=7, echo=echo)
    echo(f"filled in {seconds:.1f} s")
    return seconds


def run(database_url: str, repeats: int, echo: Callable[[str], object]) -> dict[str, Any]:
    """Time each report over ``database_url`` and the raw scan; print and answer them."""
    store = SqlStore(database_url)
    try:
        m = Measurement(store.journeys, store.journey_measures, store.customer_orders,
                        _no_writes)  # fmt: skip
        names = list(store.event_counts())
        events = store.count_events()
        raw = best(lambda: raw_limits.scan(store, names, EPOCH, read_rows=True), repeats)
        week = KpiQuery(period=Period.week)
        timings = {f"kpis {r.value}": best(partial(m.kpis, r, week), repeats) for r in KpiReport}
        timings["funnel"] = best(lambda: m.funnel(FUNNEL, KpiQuery()), repeats)
        timings["paths"] = best(
            lambda: m.paths("Product Viewed", "Order Completed", KpiQuery()), repeats
        )
        timings["touchpoints"] = best(lambda: m.touchpoints(KpiQuery()), repeats)
    finally:
        store.close()
    total = sum(timings.values())
    echo(f"{events:,} events ({store.dialect}); raw scan of every body {raw:.3f} s")
    for name, seconds in timings.items():
        echo(f"  {name:<20} {seconds:8.3f} s  {seconds / raw:6.1f} raw scans")
    echo(f"  {'all':<20} {total:8.3f} s  {total / raw:6.1f} raw scans")
    return {
        "events": events, "dialect": store.dialect, "raw_scan_seconds": raw,
        "seconds": timings, "total_seconds": total, "ratio": total / raw,
    }  # fmt: skip
