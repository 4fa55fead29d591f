"""Prometheus metrics. One registry per app, so tests and several apps never collide."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.accepted = Counter(
            "juncture_events_accepted", "Events newly stored in the event log", registry=r
        )
        self.deduplicated = Counter(
            "juncture_events_deduplicated",
            "Events already stored (same source and messageId), answered 200 and dropped",
            registry=r,
        )
        self.rejected = Counter(
            "juncture_events_rejected",
            "Events rejected by validation and quarantined, by reason code",
            ["code"],
            registry=r,
        )
        self.requests = Counter(
            "juncture_tracking_requests",
            "Tracking API requests by endpoint and status",
            ["endpoint", "status"],
            registry=r,
        )
        self.latency = Histogram(
            "juncture_ingest_latency_seconds",
            "Tracking request time from body received to durable answer",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5),
            registry=r,
        )
        self.commit_events = Histogram(
            "juncture_commit_events",
            "Events per group commit",
            buckets=(1, 10, 100, 500, 1000, 2500, 5000, 10000),
            registry=r,
        )
        self.commit_requests = Histogram(
            "juncture_commit_requests",
            "Requests answered per group commit",
            buckets=(1, 2, 5, 10, 20, 50, 100),
            registry=r,
        )
        self.engine_events = Counter(
            "juncture_engine_events_applied",
            "Client events the engine behind the log applied",
            registry=r,
        )
        self.engine_commit_seconds = Histogram(
            "juncture_engine_commit_seconds",
            "Seconds per engine commit behind the log (a batch of the log applied)",
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
            registry=r,
        )

    def observe_engine(self, events: int, seconds: float) -> None:
        self.engine_events.inc(events)
        self.engine_commit_seconds.observe(seconds)
