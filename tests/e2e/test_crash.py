"""SIGKILL the server while clients send: every acknowledged event survives, exactly once."""

from __future__ import annotations

import random
import threading
import time
import uuid

import httpx
import pytest

from juncture.store.sql import SqlStore
from juncture.testing import ServerProcess
from tests.conftest import WRITE_KEY

pytestmark = pytest.mark.slow


def _batches(count: int) -> list[dict[str, object]]:
    return [
        {
            "batch": [
                {
                    "type": "track",
                    "event": "Product Viewed",
                    "anonymousId": f"a{b % 17}",
                    "messageId": str(uuid.uuid4()),
                    "properties": {"n": b * 50 + i},
                }
                for i in range(50)
            ]
        }
        for b in range(count)
    ]


def _send(
    url: str, batches: list[dict[str, object]], acked: list[int], start: int, stop: threading.Event
) -> None:
    with httpx.Client(auth=(WRITE_KEY, ""), timeout=5) as client:
        for index in range(start, len(batches), 4):
            if stop.is_set():
                return
            try:
                if client.post(f"{url}/v1/batch", json=batches[index]).status_code == 200:
                    acked.append(index)
            except httpx.TransportError:
                return


def test_sigkill_mid_stream_loses_no_acknowledged_event(database_url: str) -> None:
    batches = _batches(1200)
    env = {"JUNCTURE_WRITE_KEYS": WRITE_KEY}
    acked: list[int] = []
    stop = threading.Event()
    server = ServerProcess(database_url, env=env).start()
    senders = [
        threading.Thread(target=_send, args=(server.url, batches, acked, i, stop)) for i in range(4)
    ]
    for t in senders:
        t.start()
    kill_after = random.randrange(40, 300)
    deadline = time.monotonic() + 60
    while len(acked) < kill_after and time.monotonic() < deadline:
        time.sleep(0.001)
    server.kill()
    stop.set()
    for t in senders:
        t.join(10)
    assert 0 < len(acked) < len(batches), "the kill must land mid-stream"

    # Restart, and let the clients retry what was not acknowledged, as real clients do.
    retry = sorted(set(range(len(batches))) - set(acked))
    with ServerProcess(database_url, env=env) as again, httpx.Client(auth=(WRITE_KEY, "")) as c:
        for index in retry:
            assert c.post(f"{again.url}/v1/batch", json=batches[index]).status_code == 200

    store = SqlStore(database_url)
    try:
        ids = [
            e.message_id
            for a in range(17)
            for e in store.events(anonymous_id=f"a{a}", limit=100_000)
            if e.source != "juncture"  # derived signals are not what the clients sent
        ]
    finally:
        store.close()
    expected = {m["messageId"] for b in batches for m in b["batch"]}  # type: ignore[attr-defined]
    assert len(ids) == len(set(ids)), "an event was stored twice"
    assert set(ids) == expected
