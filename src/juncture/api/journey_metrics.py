"""Journey counts as Prometheus metrics, computed from the store when ``/metrics`` is scraped.

Labels are journey ids, node ids, statuses and reasons from a fixed vocabulary: never a
profile, an address or message content. Counters are totals over the rows kept (erasing
profiles lowers them). ``juncture_journey_stats_up`` is 0 when the store could not be read.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Iterator
from typing import Final

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from juncture.errors import JunctureError
from juncture.store.journey_stats import JourneyStats
from juncture.store.journeys import JourneyStore

log = logging.getLogger(__name__)
_J: Final = ["journey"]
_N: Final = ["journey", "node"]
_installed: weakref.WeakKeyDictionary[CollectorRegistry, Collector] = weakref.WeakKeyDictionary()


class JourneyCollector(Collector):
    def __init__(self, journeys: JourneyStore) -> None:
        self.journeys = journeys

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "juncture_journey_stats_up", "1 when journey stats could be read from the store"
        )
        try:
            found = self.journeys.all_stats()
        except JunctureError as exc:  # the store's: StoreUnavailable, StoreError
            log.warning("journey stats unavailable: %s", type(exc).__name__)
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from _families(found)


def _families(found: list[JourneyStats]) -> Iterator[Metric]:
    c, g = CounterMetricFamily, GaugeMetricFamily
    enrollments = c("juncture_journey_enrollments", "Enrollments ever started", labels=_J)
    active = g("juncture_journey_active_enrollments", "Enrollments running now", labels=_J)
    goals = c("juncture_journey_goals", "Enrollments that reached the goal", labels=_J)
    entered = c("juncture_journey_node_entered", "Enrollments that reached the node", labels=_N)
    waiting = g("juncture_journey_node_waiting", "Active enrollments at the node", labels=_N)
    exited = c(
        "juncture_journey_node_exited", "Enrollments that ended at the node, by reason",
        labels=[*_N, "reason"],
    )  # fmt: skip
    goal = c(
        "juncture_journey_node_goal_reached",
        "Enrollments that reached the node and then the goal",
        labels=_N,
    )
    holdout = c(
        "juncture_journey_node_holdout", "Held-out enrollments that reached the node", labels=_N
    )
    messages = c(
        "juncture_journey_node_messages", "Messages from the node by outbox status",
        labels=[*_N, "status"],
    )  # fmt: skip
    suppressed = c(
        "juncture_journey_node_suppressed", "Messages from the node suppressed, by reason",
        labels=[*_N, "reason"],
    )  # fmt: skip
    for stats in found:
        jid = stats.journey_id
        enrollments.add_metric([jid], stats.entered)
        active.add_metric([jid], stats.active)
        goals.add_metric([jid], stats.goal_reached)
        for node in stats.nodes.values():
            labels = [jid, node.node]
            entered.add_metric(labels, node.entered)
            waiting.add_metric(labels, node.waiting)
            goal.add_metric(labels, node.goal_reached)
            holdout.add_metric(labels, node.holdout)
            for reason, n in sorted(node.exited.items()):
                exited.add_metric([*labels, reason[:64]], n)
            for status, n in sorted(node.messages.items()):
                messages.add_metric([*labels, status], n)
            for reason, n in sorted(node.suppressed.items()):
                suppressed.add_metric([*labels, reason[:64]], n)
    yield from (enrollments, active, goals, entered, waiting, exited, goal, holdout)
    yield from (messages, suppressed)


def install(registry: CollectorRegistry, journeys: JourneyStore) -> None:
    """Serve ``journeys``' counts from ``registry``; a second call replaces the first."""
    previous = _installed.pop(registry, None)
    if previous is not None:
        registry.unregister(previous)
    collector = JourneyCollector(journeys)
    registry.register(collector)
    _installed[registry] = collector
