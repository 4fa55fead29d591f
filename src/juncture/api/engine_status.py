"""The engine behind the log, as the API shows it: its lag in ``/metrics``, its readiness in
``/readyz``, and read-your-writes for the reads that ask (``?consistent=true``: wait, up to
a bound, until every event accepted before the request is applied; the response's
``Juncture-Caught-Up`` header says whether it was)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterator, Sequence
from typing import Annotated, Final

from fastapi import Query, Response
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.concurrency import run_in_threadpool

from juncture.errors import EngineNotReady, JunctureError
from juncture.runtime.clock import Clock
from juncture.runtime.follower import EngineBehind
from juncture.runtime.log_lag import LogLag
from juncture.runtime.standing import Standing

log = logging.getLogger(__name__)
CAUGHT_UP: Final = "Juncture-Caught-Up"

CONSISTENT_HELP: Final = (
    "Wait (a bounded time) until the engine has applied every event accepted before this "
    "request; the Juncture-Caught-Up header says whether it had"
)
Consistent = Annotated[bool, Query(description=CONSISTENT_HELP)]


async def catch_up(
    engine: Standing | None, consistent: bool, keys: Sequence[str] = ()
) -> bool | None:
    """For ``?consistent=true``, wait until the engine has applied what was accepted before
    now (of the people whose routing ids are ``keys``, where the log is partitioned by
    them; of everyone when none is given), and say whether it had (None: not asked;
    inline, the engine is always caught up)."""
    if not consistent:
        return None
    return True if engine is None else await run_in_threadpool(engine.catch_up, keys)


def marked(response: Response, reached: bool | None) -> Response:
    """``response`` with the ``Juncture-Caught-Up`` header, where the caller asked."""
    if reached is not None:
        response.headers[CAUGHT_UP] = "true" if reached else "false"
    return response


class EngineCollector(Collector):
    def __init__(self, engine: EngineBehind, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        g = GaugeMetricFamily
        up = g("juncture_engine_up", "1 while the engine behind the log runs and commits")
        position = g("juncture_engine_position", "Seq of the last client event applied")
        events = g("juncture_engine_lag_events", "Client events accepted, not applied yet")
        seconds = g("juncture_engine_lag_seconds", "Age of the oldest client event not applied yet")
        try:
            up.add_metric([], 1 if self.engine.running() and not self.engine.failing() else 0)
            position.add_metric([], self.engine.position())
            behind = self.engine.lag()
        except JunctureError as exc:
            log.warning("engine lag unavailable: %s", exc.code)
            yield from (up, position)
            return
        events.add_metric([], behind.events)
        seconds.add_metric([], behind.seconds(self.clock.now()))
        yield from (up, position, events, seconds)


class LogLagCollector(Collector):
    """The distributed log's lag: per partition, and in all under the embedded engine's
    names (``juncture_engine_lag_*``, ``juncture_engine_up``: every partition has a
    worker), so that alerts read alike in both modes."""

    def __init__(self, lag: LogLag, clock: Clock) -> None:
        self.lag = lag
        self.clock = clock

    def collect(self) -> Iterator[Metric]:
        try:
            parts = self.lag.partitions()
        except JunctureError as exc:
            log.warning("the log's lag is unavailable: %s", exc.code)
            return
        now = self.clock.now()
        g, by = GaugeMetricFamily, ["partition"]
        gauges = {
            "position": g("juncture_log_position", "Position committed per partition", labels=by),
            "events": g("juncture_log_lag_events", "Records not applied yet", labels=by),
            "seconds": g("juncture_log_lag_seconds", "Age of the oldest not applied", labels=by),
            "owned": g("juncture_log_partition_owned", "1 while a worker owns it", labels=by),
        }
        for p in parts:
            label = [str(p.partition)]
            gauges["position"].add_metric(label, p.position)
            gauges["events"].add_metric(label, p.events)
            gauges["seconds"].add_metric(label, p.seconds(now))
            gauges["owned"].add_metric(label, 1 if p.owned else 0)
        yield from gauges.values()
        up = g("juncture_engine_up", "1 while every partition of the log has a worker")
        up.add_metric([], 1 if all(p.owned for p in parts) else 0)
        events = g("juncture_engine_lag_events", "Client events accepted, not applied yet")
        events.add_metric([], sum(p.events for p in parts))
        seconds = g("juncture_engine_lag_seconds", "Age of the oldest client event not applied yet")
        seconds.add_metric([], max((p.seconds(now) for p in parts), default=0.0))
        yield from (up, events, seconds)


def install(registry: CollectorRegistry, engine: Standing, clock: Clock) -> None:
    if isinstance(engine, LogLag):
        registry.register(LogLagCollector(engine, clock))
    elif isinstance(engine, EngineBehind):
        registry.register(EngineCollector(engine, clock))


async def not_ready(engine: Standing | None, now: dt.datetime) -> EngineNotReady | None:
    """Why ``/readyz`` answers 503 for the engine (None: it does not)."""
    if engine is None:
        return None
    try:
        return await run_in_threadpool(engine.unready, now)
    except JunctureError as exc:
        return EngineNotReady(f"the engine's lag cannot be read: {exc.message}")
