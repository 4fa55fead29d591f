"""``juncture worker`` on a database with a month-overdue timer, over the distributed log
and PostgreSQL: not a terminal, so it holds the timer while it applies the events it is
sent, as ``juncture serve`` does; with ``--overdue fire`` it fires it. A worker weighs only
the timers, an ingestion node only the messages."""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

from juncture import wiring
from juncture.cli.overdue import NODE, SERVER, WORKER, OnOverdue, fire
from juncture.runtime.worker import position_name
from juncture.store import tables
from juncture.store.leases import owners
from juncture.store.sql import SqlStore
from tests.distributed import PARTITIONS, SOURCE, envelope, forked, log_settings, node, track
from tests.e2e.test_serve_overdue import NOW, queue, timers_left

__all__ = ["log_settings", "node"]  # the fixtures, for pytest


def _until(what: str, check: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"{what} did not happen within {timeout} s"
        time.sleep(0.1)


def _worker(node: wiring.Juncture, *args: str) -> Any:
    s = node.settings
    env = {
        "JUNCTURE_DATABASE_URL": s.database_url,
        "JUNCTURE_LOG_URL": str(s.log_url),
        "JUNCTURE_LOG_NAME": s.log_name,
        "JUNCTURE_LOG_PARTITIONS": str(PARTITIONS),
        "JUNCTURE_WORKER_LEASE_INTERVAL": "0.2",
    }
    return forked(["worker", *args], env)  # stdin is no terminal: ask means hold


def test_a_worker_holds_a_month_overdue_timer_unless_told_to_fire(node: wiring.Juncture) -> None:
    url, name = node.settings.database_url, node.settings.log_name
    queue(url, due=NOW - dt.timedelta(days=30))
    store = SqlStore(url)
    log = node.ingestor.log
    assert log is not None
    held = _worker(node)
    try:
        node.ingestor.ingest_sync(
            envelope([track(n, anonymous=f"a{n}") for n in range(40)]), SOURCE
        )
        last = {p: log.last(p) for p in range(PARTITIONS)}

        def applied() -> bool:
            at = {p: store.log_positions.position(position_name(name, p)) for p in last}
            return all(at[p] >= last[p] for p in last)

        _until("the held worker applying the events", applied, 120)
        assert 0 in owners(store.engine, name)  # it owns partition 0: it would tick
        time.sleep(3)  # a worker not holding ticks every second: it would have fired by now
        assert timers_left(url) == 1
    finally:
        held.terminate()
        held.join(30)
    firing = _worker(node, "--overdue", "fire")
    try:
        _until("the timer firing", lambda: timers_left(url) == 0, 120)
    finally:
        firing.terminate()
        firing.join(30)
        store.close()


def test_each_process_weighs_its_own_part_of_the_overdue_work(sqlite_url: str) -> None:
    """A worker fires the timers, an ingestion node of the distributed log sends the
    messages, the embedded server does both: each holds only for its own part."""
    store = SqlStore(sqlite_url)
    try:
        queue(sqlite_url, due=NOW - dt.timedelta(days=30))
        with store.engine.begin() as conn:
            conn.execute(tables.timers.delete())  # the queued message stays
        assert fire(store, OnOverdue.ASK, 24, NOW, WORKER) is True
        assert fire(store, OnOverdue.ASK, 24, NOW, NODE) is False
        assert fire(store, OnOverdue.ASK, 24, NOW, SERVER) is False
        with store.engine.begin() as conn:
            conn.execute(tables.outbox.delete())
        queue(sqlite_url, due=NOW - dt.timedelta(days=30), key="k-2")
        with store.engine.begin() as conn:
            conn.execute(tables.outbox.delete())  # the timer stays
        assert fire(store, OnOverdue.ASK, 24, NOW, WORKER) is False
        assert fire(store, OnOverdue.ASK, 24, NOW, NODE) is True
        assert fire(store, OnOverdue.ASK, 24, NOW, SERVER) is False
    finally:
        store.close()
