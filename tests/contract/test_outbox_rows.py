"""Both ways into the outbox write the same row for the same message, on every store: the
outbox's own insert (on-site impressions, tools) and the engine's writer (journeys' messages,
in the event's transaction), which share ``store/outbox.row``."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa

from juncture.core.events import as_utc
from juncture.core.journeys.orchestrate import Message
from juncture.store import outbox, tables
from juncture.store.outbox import Outbox
from juncture.store.sql import SqlStore
from juncture.store.state import StateSql

T0 = dt.datetime(2026, 3, 2, 9, 0, 0, 123456, tzinfo=dt.UTC)
PARIS = dt.timezone(dt.timedelta(hours=2))
MESSAGES = (
    Message(
        "journey", "p1", "email", "marketing", T0,
        {"a": [1, 2.5, None, True], "b": {"c": "é\u2028"}, "n": 10**12},
        "welcome", "welcome", 2, "e1", "n1",
    ),
    Message(
        "shown", "p1", "onsite", "marketing", T0.astimezone(PARIS),
        {"placement": "any", "kind": "welcome"}, "onsite_welcome", status="shown",
    ),
    Message(
        "deferred", "p2", "sms", "marketing", T0, status="deferred", reason="quiet_hours",
        next_attempt_at=T0.astimezone(PARIS) + dt.timedelta(hours=3),
    ),
    Message("holdout", "p2", "none", "marketing", T0, status="suppressed", reason="holdout"),
)  # fmt: skip


def written(store: SqlStore, prefix: str) -> list[dict[str, Any]]:
    """The rows whose key starts with ``prefix``, without it and their ids, times in UTC
    (SQLite answers naive ones)."""
    t = tables.outbox
    query = sa.select(t).where(t.c.idempotency_key.startswith(prefix)).order_by(t.c.id)
    with store.engine.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    for row in rows:
        del row["id"]
        row["idempotency_key"] = row["idempotency_key"].removeprefix(prefix)
        for name in ("next_attempt_at", "created_at", "sent_at"):
            if row[name] is not None:
                row[name] = as_utc(row[name])
    return rows


def keyed(prefix: str) -> list[Message]:
    return [dataclasses.replace(m, idempotency_key=prefix + m.idempotency_key) for m in MESSAGES]


def test_the_outbox_and_the_engine_write_the_same_rows(store: SqlStore) -> None:
    assert Outbox(store.engine).insert(keyed("outbox:")) == len(MESSAGES)
    raw = store.engine.raw_connection()
    try:
        StateSql(raw.cursor(), store.dialect).save_messages(keyed("engine:"))
        raw.commit()
    finally:
        raw.close()
    ours = written(store, "outbox:")
    assert [r["idempotency_key"] for r in ours] == [m.idempotency_key for m in MESSAGES]
    assert ours == written(store, "engine:")
    shown = next(r for r in ours if r["status"] == "shown")
    assert shown["sent_at"] == shown["created_at"] == T0
    assert {r["attempts"] for r in ours} == {0}


def test_a_replayed_key_is_left_alone_by_both(store: SqlStore) -> None:
    repository = Outbox(store.engine)
    first = keyed("k:")
    assert repository.insert(first) == len(first)
    again = [dataclasses.replace(m, payload={"changed": True}) for m in first]
    assert repository.insert(again) == 0
    raw = store.engine.raw_connection()
    try:
        StateSql(raw.cursor(), store.dialect).save_messages(again)
        raw.commit()
    finally:
        raw.close()
    assert '"changed"' not in str(written(store, "k:"))


def test_an_unknown_status_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown outbox status"):
        outbox.row(dataclasses.replace(MESSAGES[0], status="lost"), lambda t: t)
