"""The distributed log (``JUNCTURE_LOG_URL``) on NATS JetStream and Redis Streams with
PostgreSQL: ingestion appends and answers after the log's acknowledgement, deduplicated by
messageId; workers share the partitions through advisory locks and apply each event
exactly once, also when one person's events fall in two partitions and merge."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from juncture import wiring
from juncture.errors import PositionMoved
from juncture.log.base import partition_of
from juncture.runtime.worker import position_name
from juncture.store.sql import SqlStore
from tests.distributed import (
    PARTITIONS,
    SOURCE,
    Running,
    applied,
    envelope,
    log_settings,
    node,
    running,
    track,
)

__all__ = ["log_settings", "node", "running"]  # the fixtures, for pytest


def _shoppers(start: int, count: int, people: int = 40) -> list[dict[str, Any]]:
    return [track(n, anonymous=f"anon-{n % people}") for n in range(start, start + count)]


def test_two_workers_share_the_partitions_and_apply_each_event_once(
    node: wiring.Juncture, running: Running
) -> None:
    for start in range(0, 600, 100):
        outcome = node.ingestor.ingest_sync(envelope(_shoppers(start, 100)), SOURCE)
        assert outcome.receipt.stored == 100
    again = node.ingestor.ingest_sync(envelope(_shoppers(0, 100)), SOURCE)  # a retry
    assert again.receipt.duplicates == 100 and again.receipt.stored == 0
    assert node.store.count_events() == 0  # nothing applied before a worker runs
    first, second = running.start(), running.start()
    running.caught_up()
    counts = applied(node.store)
    assert sum(stored for _, stored in counts.values()) == 600
    assert all(counted == stored for counted, stored in counts.values())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not (first.owned and second.owned):
        time.sleep(0.05)
    assert first.owned and second.owned, "each worker should own some partitions"
    assert not set(first.owned) & set(second.owned)


def test_a_merge_across_partitions_under_load_keeps_every_count(
    node: wiring.Juncture, running: Running
) -> None:
    """Each shopper browses anonymously (routed by the device), then signs in (routed by
    the user id, another partition) and goes on on both ids, among 40 other shoppers' views
    in every partition, while two workers apply the partitions at the same time: one
    profile per shopper with every event counted once."""
    shoppers = [
        (f"dev-{i}", f"user-{i}")
        for i in range(400)
        if partition_of(f"dev-{i}", PARTITIONS) != partition_of(f"user-{i}", PARTITIONS)
    ][:30]
    running.start()
    running.start()
    n = 0
    for round_ in range(6):
        batch = []
        for anonymous, user in shoppers:
            signed_in = round_ >= 2
            batch.append(track(n, anonymous=anonymous))
            batch.append(track(n + 1, anonymous=anonymous, user=user if signed_in else None))
            n += 2
        batch += _shoppers(10_000 + round_ * 200, 200)  # the load around them
        node.ingestor.ingest_sync(envelope(batch), SOURCE)
    running.caught_up()
    counts = applied(node.store)
    merged = {live: c for live, c in counts.items() if c[1] == 12}
    assert len(merged) == len(shoppers)  # devices and users merged, one profile each
    assert len(counts) == len(shoppers) + 40  # and the other shoppers' own
    assert all(counted == stored for counted, stored in counts.values())


def test_a_stale_worker_cannot_commit_over_the_new_owner(node: wiring.Juncture) -> None:
    node.ingestor.ingest_sync(envelope(_shoppers(0, 50)), SOURCE)
    store = SqlStore(node.settings.database_url)
    try:
        worker = wiring.build_worker(node.settings, store)
        log = node.ingestor.log
        assert log is not None
        partition = next(p for p in range(PARTITIONS) if log.last(p))
        worker.owned[partition] = 0
        with store.writer().unit() as unit:  # another worker moved the partition meanwhile
            unit.advance(position_name(node.settings.log_name, partition), 0, 1, node.clock.now())
        records = log.read(partition, 0, 100, 1.0)
        with pytest.raises(PositionMoved):
            worker._apply(partition, records)
        assert node.store.count_events() == 0
        worker.close()
    finally:
        store.close()


def test_a_batch_change_on_the_ingestion_node_holds_every_worker_off(
    node: wiring.Juncture, running: Running
) -> None:
    """An erasure or a segment move on a server runs while no worker commits, so that no
    worker's transaction that read a person before it can undo it."""
    node.ingestor.ingest_sync(envelope(_shoppers(0, 100)), SOURCE)
    running.start()
    running.caught_up()
    name = node.settings.log_name
    positions = node.store.log_positions

    def at() -> dict[int, int]:
        return {p: positions.position(position_name(name, p)) for p in range(PARTITIONS)}

    holding, release = threading.Event(), threading.Event()

    def change(state: Any, events: list[Any]) -> list[Any]:
        holding.set()
        release.wait(30)
        return events

    batch = threading.Thread(target=node.batch_run(), args=(change,))
    batch.start()
    try:
        assert holding.wait(30)
        before = at()
        node.ingestor.ingest_sync(envelope(_shoppers(100, 100)), SOURCE)
        time.sleep(1.5)  # a worker polls every 20 ms
        assert at() == before, "a worker committed during the batch change"
    finally:
        release.set()
        batch.join(30)
    running.caught_up()
    counts = applied(node.store)
    assert sum(stored for _, stored in counts.values()) == 200
    assert all(counted == stored for counted, stored in counts.values())
