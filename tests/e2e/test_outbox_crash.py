"""SIGKILL `juncture serve` while customers wait in a journey and the outbox is sending:
after restarts, every due message reaches the receiver, none is lost, and the outbox holds
exactly one row per idempotency key. A repeat at the receiver is only possible for a row
that was in flight when the process died (same idempotency key, which the receiver drops)."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from juncture.cli.main import app
from juncture.store import tables
from juncture.store.sql import SqlStore
from juncture.testing import ServerProcess
from tests.conftest import WRITE_KEY
from tests.servers import HttpRecorder

pytestmark = pytest.mark.slow
CUSTOMERS = 120
JOURNEY = """
id: order_follow_up
version: 1
name: Order follow-up
entry:
  reentry: never
nodes:
  - id: ordered
    type: trigger
    event: Order Completed
    next: pause
  - id: pause
    type: wait
    duration: 2s
    next: notify
  - id: notify
    type: webhook
    url: {url}/orders
    next: done
  - id: done
    type: exit
"""


def _send_all(url: str, pending: dict[int, str], stop: threading.Event) -> None:
    """Each customer's order, retried (same messageId) until the server acknowledged it."""
    with httpx.Client(auth=(WRITE_KEY, ""), timeout=3) as client:
        while pending and not stop.is_set():
            for n, message_id in list(pending.items()):
                if stop.is_set():
                    return
                body = {
                    "userId": f"buyer-{n}",
                    "event": "Order Completed",
                    "messageId": message_id,
                    "properties": {"order_id": f"o{n}", "total": 10 + n},
                }
                try:
                    if client.post(f"{url}/v1/track", json=body).status_code == 200:
                        pending.pop(n)
                except httpx.TransportError:
                    time.sleep(0.05)


def _outbox(database_url: str) -> list[tuple[str, str, int]]:
    """(idempotency key, status, attempts) of every outbox row."""
    store = SqlStore(database_url)
    try:
        with store.engine.connect() as conn:
            o = tables.outbox
            query = sa.select(o.c.idempotency_key, o.c.status, o.c.attempts)
            return [(str(k), str(s), int(a)) for k, s, a in conn.execute(query)]
    finally:
        store.close()


def _settled(receiver: HttpRecorder, database_url: str) -> bool:
    if len({r.headers["idempotency-key"] for r in receiver.requests}) < CUSTOMERS:
        return False
    rows = _outbox(database_url)
    return len(rows) == CUSTOMERS and all(status == "sent" for _, status, _ in rows)


def test_sigkill_while_waiting_and_sending_delivers_every_message_once(
    database_url: str, tmp_path: Path
) -> None:
    receiver = HttpRecorder().start()
    server: ServerProcess | None = None
    try:
        journey = tmp_path / "order_follow_up.yaml"
        journey.write_text(JOURNEY.format(url=receiver.url))
        applied = CliRunner().invoke(
            app, ["journeys", "apply", str(journey), "--database-url", database_url]
        )
        assert applied.exit_code == 0, applied.output
        env = {
            "JUNCTURE_WRITE_KEYS": WRITE_KEY,
            "JUNCTURE_WEBHOOK_SECRET": "s3cret",
            "JUNCTURE_WEBHOOK_ALLOW": "127.0.0.1",
            "JUNCTURE_DISPATCH_INTERVAL": "0.1",
        }
        pending = {n: str(uuid.uuid4()) for n in range(CUSTOMERS)}
        rng = random.Random(7)
        kills = 0
        deadline = time.monotonic() + 120  # for the kills; the last start always settles
        while True:
            server = ServerProcess(database_url, env=env).start()
            stop = threading.Event()
            sender = threading.Thread(target=_send_all, args=(server.url, pending, stop))
            sender.start()
            if kills < 4 and time.monotonic() < deadline:  # die at a random moment:
                # mid-ingest, mid-wait, mid-send
                time.sleep(rng.uniform(0.5, 3.0))
                server.kill()
                kills += 1
                stop.set()
                sender.join()
                continue
            sender.join(timeout=60)
            # Settled: every key reached the receiver and every row is marked sent (a send
            # that timed out under load is retried after a backoff, although the receiver
            # may have had it already). Two such retries back off 30 s and 60 s, so the wait
            # covers both: a suite on two loaded cores has needed more than a minute.
            settle = time.monotonic() + 150
            while not _settled(receiver, database_url):
                assert time.monotonic() < settle, "messages still unsent after 150 s"
                time.sleep(0.2)
            time.sleep(1.0)  # anything that would be sent twice has had time to be
            server.stop()
            break
        assert pending == {}
        keys = Counter(r.headers["idempotency-key"] for r in receiver.requests)
        assert len(keys) == CUSTOMERS
        rows = _outbox(database_url)
        assert sorted(k for k, _, _ in rows) == sorted(keys)
        assert {s for _, s, _ in rows} == {"sent"}
        attempts = {k: a for k, _, a in rows}
        repeated = {k for k, c in keys.items() if c > 1}
        assert all(attempts[k] > 1 for k in repeated), "a repeat without an interrupted attempt"
    finally:
        if server is not None:  # a failed assertion must not leave a server running
            server.stop()
        receiver.stop()
