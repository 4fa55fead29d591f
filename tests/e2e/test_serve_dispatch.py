"""``juncture serve`` sends the outbox: through a real SMTP server, across a SIGKILL, with
rows left ``sending`` by a dead process re-sent under the same ``Message-ID``."""

from __future__ import annotations

import collections
import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from juncture.channels.email import message_id
from juncture.core.journeys.orchestrate import Message
from juncture.store.outbox import Outbox
from juncture.store.sql import SqlStore
from juncture.testing import ServerProcess
from tests.servers import SmtpSink

pytestmark = pytest.mark.slow
SENDER = "news@shop.example"


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


def wait(predicate: object, log: Path, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return
        time.sleep(0.05)
    tail = log.read_text(errors="replace").splitlines()[-40:] if log.exists() else []
    raise AssertionError("timed out; the server's log ends:\n" + "\n".join(tail))


def test_every_message_arrives_across_a_crash(
    database_url: str, store: SqlStore, smtp: SmtpSink, tmp_path: Path
) -> None:
    outbox = Outbox(store.engine)
    now = dt.datetime.now(dt.UTC)
    keys = [f"j:1:e{i}:send:0" for i in range(40)]
    payload = {"recipient": {"email": "ada@example.com"}, "profile": {"first_name": "Ada"}}
    outbox.insert([Message(k, "p1", "email", "marketing", now, payload, "welcome") for k in keys])
    # a previous process claimed five and died before recording anything
    left = outbox.claim(now, 5, dt.timedelta(hours=1))
    assert len(left) == 5
    env = {
        "JUNCTURE_SMTP_URL": smtp.url,
        "JUNCTURE_EMAIL_FROM": SENDER,
        "JUNCTURE_DISPATCH_INTERVAL": "0.05",
        "JUNCTURE_WRITE_KEYS": "k",
        "JUNCTURE_PUBLIC_URL": "https://juncture.test",  # marketing email needs its way out
        "JUNCTURE_LINKS_SECRET": "test-links-secret",
    }
    log = tmp_path / "serve.log"  # printed when the test fails
    first = ServerProcess(database_url, env=env, log=log).start()
    try:
        wait(lambda: len(smtp.mails) >= 10, log)
    finally:
        first.kill()
    with ServerProcess(database_url, env=env, log=log):
        wait(lambda: {r.status for r in outbox.deliveries(limit=100)} == {"sent"}, log)
    ids = collections.Counter(m.message["Message-ID"] for m in smtp.mails)
    assert set(ids) == {message_id(k, "shop.example") for k in keys}
    # a copy can repeat only for rows in flight when the process died
    assert sum(ids.values()) - len(ids) <= 16
    assert all(m.message["Subject"] == "Welcome, Ada!" for m in smtp.mails)
