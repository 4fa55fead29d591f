"""What the tests that SIGKILL a server under load share: the batches of product views the
clients send (each numbered, so that every message id is its own) and the clients
themselves, sending until the server dies at a random moment."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import httpx

from juncture.testing import ServerProcess
from tests.conftest import WRITE_KEY
from tests.distributed import track


def batches(count: int, size: int, visitors: int) -> list[dict[str, Any]]:
    """``count`` bodies of ``POST /v1/batch``, each ``size`` product views
    (:func:`tests.distributed.track`) by visitor ``a<b % visitors>`` (``b``: its number)."""
    return [
        {"batch": [track(b * size + i, anonymous=f"a{b % visitors}") for i in range(size)]}
        for b in range(count)
    ]


def kill_mid_stream(
    server: ServerProcess, bodies: list[dict[str, Any]], clients: int, kill_after: range
) -> list[int]:
    """``clients`` threads send ``bodies`` (each its share, in order) to ``server``, which is
    SIGKILLed once a random number in ``kill_after`` of them were answered 200 (or after a
    minute): the numbers of the bodies answered 200."""
    acked: list[int] = []
    stop = threading.Event()
    senders = [
        threading.Thread(target=_send, args=(server.url, bodies, acked, i, clients, stop))
        for i in range(clients)
    ]
    for t in senders:
        t.start()
    kill_at = random.choice(kill_after)
    deadline = time.monotonic() + 60
    while len(acked) < kill_at and time.monotonic() < deadline:
        time.sleep(0.001)
    server.kill()
    stop.set()
    for t in senders:
        t.join(10)
    assert 0 < len(acked) < len(bodies), "the kill must land mid-stream"
    return acked


def _send(
    url: str,
    bodies: list[dict[str, Any]],
    acked: list[int],
    start: int,
    step: int,
    stop: threading.Event,
) -> None:
    with httpx.Client(auth=(WRITE_KEY, ""), timeout=5) as client:
        for index in range(start, len(bodies), step):
            if stop.is_set():
                return
            try:
                if client.post(f"{url}/v1/batch", json=bodies[index]).status_code == 200:
                    acked.append(index)
            except httpx.TransportError:
                return
