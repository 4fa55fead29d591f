"""The dispatcher's look before a round (:class:`DueProbe`) on every store: it says a row is
due exactly when :meth:`Outbox.due` finds one, for every status, channel and time; and when
it cannot answer, the round claims as before."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from typing import Any

import pytest
import sqlalchemy as sa

from juncture.channels.recording import RecordingChannel
from juncture.core.journeys.orchestrate import Message
from juncture.runtime.clock import ManualClock
from juncture.runtime.dispatcher import Dispatcher
from juncture.store import tables
from juncture.store.held import HeldConnection
from juncture.store.outbox import Outbox
from juncture.store.outbox_probe import DueProbe
from juncture.store.sql import SqlStore

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
ROWS: list[tuple[str, str, dt.datetime | None]] = [
    ("pending", "email", None),  # new: due at once
    ("pending", "email", T0 + HOUR),  # a retry after a backoff
    ("deferred", "sms", T0 + 2 * HOUR),  # quiet hours
    ("deferred", "sms", None),
    ("sending", "webhook", T0 + HOUR / 2),  # its lease runs out: in doubt
    ("pending", "onsite", None),  # waits for a visit, never sent
    ("sent", "email", None),
    ("dead", "email", T0 - HOUR),
    ("suppressed", "push", T0 - HOUR),
    ("shown", "onsite", T0 - HOUR),
]
NOWS = [T0 - HOUR, T0, T0 + HOUR / 2, T0 + HOUR, T0 + 2 * HOUR - dt.timedelta(microseconds=1)]
NOWS += [T0 + 2 * HOUR, (T0 + 3 * HOUR).astimezone(dt.timezone(dt.timedelta(hours=2)))]


def only(store: SqlStore, status: str, channel: str, at: dt.datetime | None) -> None:
    """The outbox holds this one row."""
    outbox = Outbox(store.engine)
    with store.engine.begin() as conn:
        conn.execute(sa.delete(tables.outbox))
    outbox.insert([Message(f"k-{status}-{channel}-{at}", "p1", channel, "marketing", T0)])
    with store.engine.begin() as conn:
        conn.execute(sa.update(tables.outbox).values(status=status, next_attempt_at=at))


@pytest.mark.parametrize(("status", "channel", "at"), ROWS)
def test_the_probe_answers_as_due_does(
    store: SqlStore, status: str, channel: str, at: dt.datetime | None
) -> None:
    only(store, status, channel, at)
    probe, outbox = DueProbe(store.outbox), store.outbox
    answers = [(probe.anything_due(now), bool(outbox.due(now, 10))) for now in NOWS]
    probe.close()
    assert [mine for mine, _ in answers] == [due for _, due in answers]


def test_the_probe_sees_rows_stored_after_it_looked(store: SqlStore) -> None:
    only(store, "sent", "email", None)
    probe = DueProbe(store.outbox)
    assert not probe.anything_due(T0)
    Outbox(store.engine).insert([Message("k2", "p1", "email", "marketing", T0)])
    assert probe.anything_due(T0)
    probe.close()


def test_a_round_claims_as_before_when_the_probe_cannot_answer(
    store: SqlStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    only(store, "pending", "webhook", None)

    def broken(self: HeldConnection) -> Any:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(HeldConnection, "_open", broken)
    channel = RecordingChannel()
    dispatcher = Dispatcher(store.outbox, {"webhook": channel}, ManualClock(T0))
    assert asyncio.run(dispatcher.run_once()).sent == 1
    assert len(channel.sent) == 1


def test_the_dispatcher_asks_at_its_clocks_time(store: SqlStore) -> None:
    only(store, "deferred", "sms", T0 + HOUR)
    clock = ManualClock(T0)
    dispatcher = Dispatcher(store.outbox, {"sms": RecordingChannel()}, clock)
    assert not dispatcher.anything_due()
    assert asyncio.run(dispatcher.run_once()).claimed == 0
    clock.set(T0 + HOUR)
    assert dispatcher.anything_due()
    assert asyncio.run(dispatcher.run_once()).claimed == 1
    asyncio.run(dispatcher.aclose())
