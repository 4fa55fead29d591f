"""What the tests of the distributed log share: the log to run on (NATS JetStream and Redis
Streams, skipped with the reason when their URL is not set), a log of the test's own, the
shoppers' messages, and the check that every event was applied exactly once."""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import msgspec
import pytest
import sqlalchemy as sa

from juncture import wiring
from juncture.core import messages
from juncture.core.profile.reducer import DERIVED_SOURCE
from juncture.log import Log, connect
from juncture.runtime.worker import Worker, position_name
from juncture.store import tables
from juncture.store.sql import SqlStore
from juncture.testing import free_port
from tests.conftest import settings_for

NATS_URL = os.environ.get("JUNCTURE_TEST_NATS_URL")
REDIS_URL = os.environ.get("JUNCTURE_TEST_REDIS_URL")
T0 = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)
SOURCE = "web"
PARTITIONS = 8


def log_url(kind: str) -> str:
    url = NATS_URL if kind == "nats" else REDIS_URL
    if url is None:
        pytest.skip(f"JUNCTURE_TEST_{kind.upper()}_URL is not set: {kind} log tests skipped")
    return url


@pytest.fixture(
    params=[
        pytest.param("nats", marks=pytest.mark.nats),
        pytest.param("redis", marks=pytest.mark.redis),
    ]
)
def log_settings(request: pytest.FixtureRequest) -> Iterator[dict[str, Any]]:
    """The settings of a log of this test's own (deleted afterwards) on each kind."""
    url = log_url(str(request.param))
    name = f"t{uuid.uuid4().hex[:12]}"
    yield {"log_url": url, "log_name": name, "log_partitions": PARTITIONS}
    log = open_log(url, name)
    log.delete()  # type: ignore[attr-defined]
    log.close()


def open_log(url: str, name: str) -> Log:
    return connect(url, PARTITIONS, name=name)


def track(
    n: int, *, anonymous: str, user: str | None = None, event: str = "Product Viewed"
) -> dict[str, Any]:
    message: dict[str, Any] = {
        "type": "track",
        "event": event,
        "messageId": f"m{n}",
        "anonymousId": anonymous,
        "timestamp": (T0 + dt.timedelta(seconds=n)).isoformat(),
        "properties": {"product_id": f"P{n % 5}", "price": 10.5},
    }
    if user is not None:
        message["userId"] = user
    return message


def envelope(batch: list[dict[str, Any]]) -> messages.Envelope:
    return messages.parse_batch(msgspec.json.encode({"batch": batch}))


def applied(store: SqlStore) -> dict[str, tuple[int, int]]:
    """Per live profile: the events counted on it, and the client events stored for it
    (every stored client event must have been applied: it has a profile)."""
    e = tables.events
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(e.c.profile_id, sa.func.count())
            .where(e.c.source != DERIVED_SOURCE)
            .group_by(e.c.profile_id)
        ).all()
    out: dict[str, tuple[int, int]] = {}
    for profile_id, stored in rows:
        assert profile_id is not None, "a client event the engine never applied"
        found = store.profiles.profile(profile_id)
        assert found is not None
        live = found.profile.profile_id
        counted = sum(found.profile.event_counts.values())
        out[live] = (counted, out.get(live, (0, 0))[1] + stored)
    return out


@pytest.fixture
def node(postgres_url: str, log_settings: dict[str, Any]) -> Iterator[wiring.Juncture]:
    """An ingestion node: no engine here, the events go to the log."""
    juncture = wiring.build(settings_for(postgres_url, **log_settings))
    assert juncture.distributed
    yield juncture
    juncture.close()


class Running:
    """Workers on threads of this process, each with its own sessions."""

    def __init__(self, node: wiring.Juncture) -> None:
        self.node = node
        self.stops: list[threading.Event] = []
        self.workers: list[Worker] = []
        self.threads: list[threading.Thread] = []
        self.stores: list[SqlStore] = []

    def start(self) -> Worker:
        store = SqlStore(self.node.settings.database_url)
        settings = self.node.settings.model_copy(update={"worker_lease_interval": 0.2})
        worker = wiring.build_worker(settings, store)
        stop = threading.Event()
        thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
        thread.start()
        self.stops.append(stop)
        self.workers.append(worker)
        self.threads.append(thread)
        self.stores.append(store)
        return worker

    def caught_up(self, timeout: float = 60) -> None:
        log = self.node.ingestor.log
        assert log is not None
        last = {p: log.last(p) for p in range(PARTITIONS)}
        positions = self.node.store.log_positions
        name = self.node.settings.log_name
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            at = {p: positions.position(position_name(name, p)) for p in range(PARTITIONS)}
            if all(at[p] >= last[p] for p in last):
                return
            time.sleep(0.05)
        raise AssertionError(f"the workers did not catch up: {at} < {last}")

    def stop(self) -> None:
        for stop in self.stops:
            stop.set()
        for thread in self.threads:
            thread.join(30)
        for store in self.stores:
            store.close()


@pytest.fixture
def running(node: wiring.Juncture) -> Iterator[Running]:
    r = Running(node)
    yield r
    r.stop()


_PRELOAD = ["juncture.cli.main", "juncture.wiring", "juncture.log.nats", "juncture.log.redis"]


def _juncture(args: list[str], env: dict[str, str]) -> None:
    """``juncture <args>`` with ``env`` in this (forked) process: the command's own code."""
    os.environ.update(env)
    sys.argv = ["juncture", *args]
    from juncture.cli.main import main

    main()


def forked(args: list[str], env: dict[str, str]) -> multiprocessing.process.BaseProcess:
    """``juncture <args>`` started from a fork server that imported Juncture once
    (multiprocessing's ``forkserver``): the command's own code, in a process of its own to
    SIGKILL, started in about a second where a fresh interpreter takes tens of seconds to
    import on a busy machine."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(_PRELOAD)
    process = context.Process(target=_juncture, args=(args, env), daemon=True)
    process.start()
    return process


def serve_forked(env: dict[str, str], timeout: float = 120) -> tuple[str, Any]:
    """``juncture serve`` forked (:func:`forked`) on a free loopback port, once ready: its
    URL and process."""
    port = free_port()
    process = forked(["serve", "--host", "127.0.0.1", "--port", str(port)], env)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not process.is_alive():
            raise RuntimeError(f"juncture serve exited with {process.exitcode}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1.0).status_code == 200:
                return url, process
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    process.kill()
    raise RuntimeError("juncture serve did not become ready in time")
