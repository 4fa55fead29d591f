"""Lag and read-your-writes with the distributed log (NATS JetStream and Redis Streams on
PostgreSQL): each partition's lag, from the log's positions and the workers' committed
ones, in the servers' and the workers' ``/metrics`` and ``/readyz`` and in ``juncture lag``;
a read that asks waits for the visitor's partitions, whichever node took their events."""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from juncture import wiring
from juncture.cli.main import app as cli
from juncture.log.base import partition_of
from juncture.metrics import Metrics
from juncture.store.sql import SqlStore
from tests.conftest import ADMIN, WRITE_KEY, LiveServer, settings_for, signed
from tests.distributed import (
    PARTITIONS,
    SOURCE,
    Running,
    envelope,
    log_settings,
    node,
    running,
    track,
)

__all__ = ["log_settings", "node", "running"]  # the fixtures, for pytest
VISITORS = 12


@pytest.fixture
def lagging(postgres_url: str, log_settings: dict[str, Any]) -> Iterator[LiveServer]:
    """An ingestion node over real HTTP, ready only within 0.3 s of lag."""
    settings = settings_for(postgres_url, **log_settings, engine_max_lag=0.3)
    server = LiveServer(wiring.build(settings)).start()
    yield server
    server.stop()  # and the node


def _views(url: str, count: int) -> Counter[int]:
    """``count`` product views of the visitors, through ``url``; how many per partition."""
    batch = [track(n, anonymous=f"anon-{n % VISITORS}") for n in range(count)]
    posted = httpx.post(f"{url}/v1/batch", json={"batch": batch}, auth=(WRITE_KEY, ""))
    assert posted.status_code == 200, posted.text
    return Counter(partition_of(str(m["anonymousId"]), PARTITIONS) for m in batch)


def _gauges(text: str, name: str) -> dict[str, float]:
    """The samples of gauge ``name`` by their ``partition`` label ('' without one)."""
    found = re.findall(rf'^{name}(?:{{partition="(\d+)"}})? (\S+)$', text, re.MULTILINE)
    return {partition: float(value) for partition, value in found}


def _until(what: str, check: Any, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        time.sleep(0.05)


def test_each_partitions_lag_in_metrics_readyz_and_the_cli(lagging: LiveServer) -> None:
    expected = _views(lagging.url, 60)
    metrics = httpx.get(f"{lagging.url}/metrics").text
    assert _gauges(metrics, "juncture_log_lag_events") == {
        str(p): float(expected.get(p, 0)) for p in range(PARTITIONS)
    }
    assert _gauges(metrics, "juncture_engine_lag_events") == {"": 60.0}
    assert _gauges(metrics, "juncture_engine_up") == {"": 0.0}  # no worker yet
    time.sleep(0.4)  # past the 0.3 s allowed
    ready = httpx.get(f"{lagging.url}/readyz")
    assert ready.status_code == 503
    body = ready.json()
    assert body["code"] == "engine_not_ready"
    assert {p["partition"]: p["events"] for p in body["partitions"]} == dict(expected)
    assert all(p["seconds"] > 0.3 and not p["owned"] for p in body["partitions"])
    env = _env(lagging.juncture.settings)
    shown = CliRunner().invoke(cli, ["lag", "--json"], env=env)
    assert shown.exit_code == 0, shown.output
    told = json.loads(shown.output)
    assert told["events"] == 60 and told["seconds"] > 0.3
    assert {p["partition"]: p["events"] for p in told["partitions"] if p["events"]} == expected
    workers = Running(lagging.juncture)
    try:
        workers.start()
        workers.caught_up()
        _until("a worker owning every partition", lambda: _up(lagging.url))
        metrics = httpx.get(f"{lagging.url}/metrics").text
        assert set(_gauges(metrics, "juncture_log_lag_events").values()) == {0.0}
        assert httpx.get(f"{lagging.url}/readyz").status_code == 200
        plain = CliRunner().invoke(cli, ["lag"], env=env)
        assert "behind: 0 events, 0.0 s" in plain.output
    finally:
        workers.stop()


def _up(url: str) -> bool:
    return _gauges(httpx.get(f"{url}/metrics").text, "juncture_engine_up") == {"": 1.0}


def _env(settings: Any) -> dict[str, str]:
    return {
        "JUNCTURE_DATABASE_URL": settings.database_url,
        "JUNCTURE_LOG_URL": settings.log_url,
        "JUNCTURE_LOG_NAME": settings.log_name,
        "JUNCTURE_LOG_PARTITIONS": str(settings.log_partitions),
    }


def test_a_workers_own_readyz_and_metrics(node: wiring.Juncture) -> None:
    expected = sum(_views_in(node, 40).values())
    store = SqlStore(node.settings.database_url)
    metrics = Metrics()
    worker = wiring.build_worker(node.settings, store, metrics)
    app = wiring.worker_app(node.settings, store, worker, metrics)
    server = LiveServer(node, app).start()  # its stop closes the node: the fixture's too
    stop = threading.Event()
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    try:
        early = httpx.get(f"{server.url}/readyz")
        assert early.status_code == 503
        assert early.json()["message"] == "the worker has not joined yet"
        thread.start()
        _until("the worker applying every event", lambda: _applied(server.url) == expected)
        assert httpx.get(f"{server.url}/readyz").status_code == 200
        lag = _gauges(httpx.get(f"{server.url}/metrics").text, "juncture_log_lag_events")
        assert set(lag.values()) == {0.0} and len(lag) == PARTITIONS
    finally:
        stop.set()
        thread.join(30)
        server.stop()
        store.close()


def _views_in(node: wiring.Juncture, count: int) -> Counter[int]:
    batch = [track(n, anonymous=f"anon-{n % VISITORS}") for n in range(count)]
    assert node.ingestor.ingest_sync(envelope(batch), SOURCE).receipt.stored == count
    return Counter(partition_of(f"anon-{n % VISITORS}", PARTITIONS) for n in range(count))


def _applied(url: str) -> float:
    found = _gauges(httpx.get(f"{url}/metrics").text, "juncture_engine_events_applied_total")
    return found.get("", 0.0)


def test_a_cart_added_through_one_node_is_seen_by_a_decision_on_another(
    node: wiring.Juncture, running: Running
) -> None:
    """Node A takes the add-to-cart; node B's decision asks to see the visitor's writes:
    it waits until a worker (started while it waits) has applied them, and shows the cart
    reminder. Without a worker, the wait runs out and the answer says so."""
    a = LiveServer(node).start()
    b_node = wiring.build(node.settings.model_copy(update={"consistent_read_wait": 30.0}))
    b = LiveServer(b_node).start()
    try:
        added = httpx.post(
            f"{a.url}/v1/track",
            json={
                "userId": "shopper-7",
                "event": "Product Added",
                "messageId": str(uuid.uuid4()),
                "properties": {"product_id": "P1", "name": "Trail Shoe", "price": 59.5,
                               "quantity": 2, "cart_id": "c-7"},
            },
            auth=(WRITE_KEY, ""),
        )  # fmt: skip
        assert added.status_code == 200, added.text
        unseen = httpx.get(  # A waits its 2 s, and no worker runs
            f"{a.url}/v1/profiles", params={"userId": "shopper-7", "consistent": "true"},
            headers=ADMIN,
        )  # fmt: skip
        assert (unseen.status_code, unseen.headers["Juncture-Caught-Up"]) == (404, "false")
        threading.Timer(0.5, running.start).start()  # a worker comes while B waits
        decided = httpx.post(
            f"{b.url}/v1/decide",
            params={"consistent": "true"},
            json={"userId": "shopper-7", "userHash": signed("shopper-7"), "placement": "home"},
            auth=(WRITE_KEY, ""),
            timeout=60,
        )
        assert decided.status_code == 200, decided.text
        assert decided.headers["Juncture-Caught-Up"] == "true"
        assert decided.json()["reason"] == "cart_recovery"
        assert decided.json()["show"]["kind"] == "cart_recovery"
    finally:
        a.stop()  # and the nodes
        b.stop()
