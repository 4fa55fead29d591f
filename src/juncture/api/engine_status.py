"""The engine behind the log, as the API shows it: its lag in ``/metrics``, its readiness in
``/readyz``, and read-your-writes for the reads that ask (``?consistent=true``: wait, up to
a bound, until every event accepted before the request is applied; the response's
``Juncture-Caught-Up`` header says whether it was)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Annotated, Final

from fastapi import Query, Response
from prometheus_client import CollectorRegistry
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.concurrency import run_in_threadpool

from juncture.errors import JunctureError
from juncture.runtime.clock import Clock
from juncture.runtime.follower import EngineBehind

log = logging.getLogger(__name__)
CAUGHT_UP: Final = "Juncture-Caught-Up"

Consistent = Annotated[
    bool,
    Query(
        description="Wait (a bounded time) until the engine has applied every event accepted "
        "before this request; the Juncture-Caught-Up header says whether it had"
    ),
]


async def catch_up(engine: EngineBehind | None, consistent: bool) -> bool | None:
    """For ``?consistent=true``, wait until the engine has applied what was accepted before
    now, and say whether it had (None: not asked; inline, the engine is always caught up)."""
    if not consistent:
        return None
    return True if engine is None else await run_in_threadpool(engine.catch_up)


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


def install(registry: CollectorRegistry, engine: EngineBehind, clock: Clock) -> None:
    registry.register(EngineCollector(engine, clock))
