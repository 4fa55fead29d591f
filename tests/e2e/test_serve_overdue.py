"""``juncture serve`` on a database with weeks of overdue work (as the demo leaves it): not
a terminal, so it holds them, says so, and sends nothing while the API answers; with
``--overdue fire`` the queued message reaches the real SMTP server. Work that is only
recently due is not overdue and goes as usual."""

from __future__ import annotations

import datetime as dt
import time

import httpx
import orjson
import pytest
import sqlalchemy as sa

from juncture.cli.overdue import OnOverdue, fire
from juncture.store import tables
from juncture.store.sql import SqlStore
from juncture.testing import ServerProcess
from tests.conftest import WRITE_KEY
from tests.servers import SmtpSink

NOW = dt.datetime.now(dt.UTC)


def queue(database_url: str, *, due: dt.datetime, key: str = "k-1") -> None:
    """A transactional email waiting in the outbox since ``due``, and a timer as old."""
    payload = {"recipient": {"email": "ann@example.com"},
               "inline": {"subject": "Your order", "text": "It is on its way."}}  # fmt: skip
    engine = sa.create_engine(database_url)
    with engine.begin() as conn:
        conn.execute(tables.outbox.insert().values(
            idempotency_key=key, profile_id="p-ann", channel="email", purpose="transactional",
            payload=orjson.dumps(payload).decode(), status="pending", attempts=0,
            created_at=due, next_attempt_at=due,
        ))  # fmt: skip
        conn.execute(tables.timers.insert().values(
            key=f"t-{key}", kind="wait", profile_id="p-ann", due_at=due, payload="{}"
        ))  # fmt: skip
    engine.dispose()


def test_what_is_overdue_is_held_without_a_terminal_and_fired_when_told(sqlite_url: str) -> None:
    store = SqlStore(sqlite_url)
    assert fire(store, OnOverdue.ASK, 24, NOW) is True  # nothing overdue
    queue(sqlite_url, due=NOW - dt.timedelta(hours=2))
    assert fire(store, OnOverdue.ASK, 24, NOW) is True  # two hours late: not overdue
    queue(sqlite_url, due=NOW - dt.timedelta(days=30), key="k-2")
    assert fire(store, OnOverdue.ASK, 24, NOW) is False  # pytest's stdin is no terminal
    assert fire(store, OnOverdue.HOLD, 24, NOW) is False
    assert fire(store, OnOverdue.FIRE, 24, NOW) is True
    store.close()


def test_serve_holds_a_month_of_overdue_mail_unless_told_to_fire(sqlite_url: str) -> None:
    queue(sqlite_url, due=NOW - dt.timedelta(days=30))
    sink = SmtpSink().start()
    env = {"JUNCTURE_SMTP_URL": sink.url, "JUNCTURE_EMAIL_FROM": "Shop <shop@example.com>",
           "JUNCTURE_DISPATCH_INTERVAL": "0.1"}  # fmt: skip
    held = ServerProcess(sqlite_url, env=env)
    fired = ServerProcess(sqlite_url, env=env, args=["--overdue", "fire"])
    try:
        held.start(timeout=120)  # a busy machine starts servers slowly
        time.sleep(2)  # the dispatcher would have sent it by now
        assert sink.mails == []
        held.stop()
        fired.start(timeout=120)
        [mail] = sink.wait_for(1)
        assert mail.message["Subject"] == "Your order"
    finally:
        held.stop()
        fired.stop()
        sink.stop()


def timers_left(database_url: str) -> int:
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(tables.timers)).scalar()
    engine.dispose()
    return int(count or 0)


def engine_at(database_url: str) -> int:
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        seq = conn.execute(sa.select(tables.log_positions.c.seq).where(
            tables.log_positions.c.name == "engine")).scalar()  # fmt: skip
    engine.dispose()
    return int(seq or 0)


@pytest.mark.parametrize("mode", ["inline", "behind"])
def test_held_timers_do_not_fire_while_events_are_applied(sqlite_url: str, mode: str) -> None:
    """Held means held whatever runs the engine: inline in the event's commit, or behind
    the log in a process of its own, while tracked events keep being applied."""
    queue(sqlite_url, due=NOW - dt.timedelta(days=30))
    env = {"JUNCTURE_WRITE_KEYS": WRITE_KEY, "JUNCTURE_ENGINE_MODE": mode}
    held = ServerProcess(sqlite_url, env=env)
    try:
        held.start(timeout=120)
        r = httpx.post(f"{held.url}/v1/track", auth=(WRITE_KEY, ""), json={
            "userId": "ann", "event": "Product Viewed", "messageId": "m-1",
            "properties": {"product_id": "P1"}})  # fmt: skip
        assert r.status_code == 200, r.text
        deadline = time.monotonic() + 60
        while mode == "behind" and engine_at(sqlite_url) < 1 and time.monotonic() < deadline:
            time.sleep(0.2)
        assert mode == "inline" or engine_at(sqlite_url) >= 1  # the event was applied
        time.sleep(2.5)  # a scheduler would have ticked twice by now
        assert timers_left(sqlite_url) == 1
    finally:
        held.stop()
