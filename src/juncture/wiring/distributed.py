"""The distributed log (``JUNCTURE_LOG_URL``) and ``juncture worker``: the log, the worker, its
health app and the workers' lag."""

from __future__ import annotations

import functools

from fastapi import FastAPI

from juncture.api import worker as worker_api
from juncture.errors import InvalidSettings
from juncture.log import Log
from juncture.log import connect as connect_log
from juncture.metrics import Metrics
from juncture.runtime import recommend_slots
from juncture.runtime.clock import SystemClock
from juncture.runtime.engine import Engine
from juncture.runtime.log_lag import LogLag
from juncture.runtime.membership import StoredSegments
from juncture.runtime.worker import Worker
from juncture.settings import Settings
from juncture.store.leases import Leases, owners
from juncture.store.sql import SqlStore
from juncture.wiring.config import engine_config, recommendations


def open_log(settings: Settings) -> Log | None:
    """The distributed log of ``JUNCTURE_LOG_URL`` (None: the embedded table-log)."""
    if settings.log_url is None:
        return None
    return connect_log(
        settings.log_url,
        settings.log_partitions,
        name=settings.log_name,
        dedup_seconds=settings.log_dedup_window,
    )


def build_worker(
    settings: Settings,
    store: SqlStore,
    metrics: Metrics | None = None,
    *,
    hold_timers: bool = False,
) -> Worker:
    """A ``juncture worker`` over the distributed log and the store (PostgreSQL);
    ``hold_timers``: it fires no timer (``juncture worker --overdue hold``)."""
    log_ = open_log(settings)
    if log_ is None:
        raise InvalidSettings("juncture worker needs JUNCTURE_LOG_URL (nats:// or redis://)")
    clock = SystemClock()
    recs = recommendations(settings, store, clock, store.catalog)
    engine = Engine(
        clock, engine_config(settings), journeys=store.journeys, segments=StoredSegments(),
        recommends=functools.partial(recommend_slots.count, lambda: recs),
        hold_timers=hold_timers,
    )  # fmt: skip
    return Worker(
        log_,
        Leases(store.engine, settings.log_name),
        store.log_positions,
        writer=functools.partial(store.writer, table_log=False),  # the log orders them
        engine=engine,
        clock=clock,
        name=settings.log_name,
        max_events=settings.engine_batch_events,
        lease_interval=settings.worker_lease_interval,
        poll=settings.engine_poll_interval,
        on_apply=metrics.observe_engine if metrics is not None else None,
    )


def worker_app(settings: Settings, store: SqlStore, worker: Worker, metrics: Metrics) -> FastAPI:
    """``juncture worker``'s ``/healthz``, ``/readyz`` and ``/metrics``."""
    lag = log_lag(settings, store, worker.log)
    return worker_api.create_app(metrics, lag, worker.unready, worker.clock)


def log_lag(settings: Settings, store: SqlStore, log_: Log) -> LogLag:
    """The workers' lag behind the distributed log, and read-your-writes over it."""
    return LogLag(
        log_,
        store.log_positions,
        functools.partial(owners, store.engine, settings.log_name),
        name=settings.log_name,
        wait=settings.consistent_read_wait,
        max_lag=settings.engine_max_lag,
    )
