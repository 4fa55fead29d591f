"""Two `juncture serve` ingestion nodes of the distributed log on one PostgreSQL database,
started at once: the recommendations are trained once per deployment (one node trains,
holding the database's lease; the other takes the models it saved), and each later
training reaches the other node, which answers from the same models."""

from __future__ import annotations

import datetime as dt
import itertools
import time
import uuid
from typing import Any

import httpx
import pytest

from juncture.testing import free_port
from tests.conftest import WRITE_KEY
from tests.distributed import PARTITIONS, forked, log_url, open_log

pytestmark = [pytest.mark.slow, pytest.mark.nats]
EVERY = 4.0  # seconds between trainings: a few within the test
TRAININGS = 3  # seen on both nodes before the test ends


def _ready(url: str, process: Any, deadline: float) -> None:
    while time.monotonic() < deadline:
        if not process.is_alive():
            raise RuntimeError(f"juncture serve exited with {process.exitcode}")
        try:
            if httpx.get(f"{url}/readyz", timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise AssertionError("juncture serve did not become ready in time")


def _trained_at(url: str) -> str | None:
    r = httpx.get(
        f"{url}/v1/recommendations",
        params={"kind": "best_sellers", "anonymousId": "a1"},
        auth=(WRITE_KEY, ""),
        timeout=60,  # a first ask waits for the training under way
    )
    assert r.status_code == 200, r.text
    found = r.json()["trainedAt"]
    return str(found) if found is not None else None


@pytest.mark.timeout(600)
def test_two_serve_nodes_train_once_and_serve_the_same_models(postgres_url: str) -> None:
    name = f"t{uuid.uuid4().hex[:12]}"
    env = {
        "JUNCTURE_WRITE_KEYS": WRITE_KEY,
        "JUNCTURE_DATABASE_URL": postgres_url,
        "JUNCTURE_LOG_URL": log_url("nats"),
        "JUNCTURE_LOG_NAME": name,
        "JUNCTURE_LOG_PARTITIONS": str(PARTITIONS),
        "JUNCTURE_RECS_TRAIN_EVERY": str(EVERY),
        "JUNCTURE_RECS_LOOK_EVERY": "0.2",
    }
    ports = [free_port(), free_port()]
    nodes = [
        forked(["serve", "--host", "127.0.0.1", "--port", str(port)], env) for port in ports
    ]  # at once: each starts by looking for models, finding none
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    seen: list[set[str]] = [set(), set()]
    try:
        deadline = time.monotonic() + 180  # a busy machine starts servers slowly
        for url, node in zip(urls, nodes, strict=True):
            _ready(url, node, deadline)
        deadline = time.monotonic() + 240
        while min(len(s) for s in seen) < TRAININGS and time.monotonic() < deadline:
            for url, found in zip(urls, seen, strict=True):
                at = _trained_at(url)
                if at is not None:
                    found.add(at)
            time.sleep(0.1)
    finally:
        for node in nodes:
            node.terminate()
        for node in nodes:
            node.join(30)
        log = open_log(log_url("nats"), name)
        log.delete()  # type: ignore[attr-defined]
        log.close()
    trainings = sorted(dt.datetime.fromisoformat(at) for at in seen[0] | seen[1])
    assert len(trainings) >= TRAININGS, seen
    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(trainings)]
    assert min(gaps) >= EVERY, trainings  # never two trainings of one period: one node trains
    common = seen[0] & seen[1]
    assert len(common) >= TRAININGS - 1, seen  # each training served by both nodes
