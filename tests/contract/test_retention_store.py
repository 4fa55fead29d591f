"""store/retention on SQLite and PostgreSQL: finished deliveries go with their attempts and
feedback while pending ones stay, and raw events never past the engine's position."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from juncture.store import feedback_tables, tables
from juncture.store.retention import Retention
from juncture.store.sql import SqlStore

NOW = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
OLD, NEW = NOW - dt.timedelta(days=60), NOW - dt.timedelta(days=1)
CUTOFF = NOW - dt.timedelta(days=30)


@pytest.fixture
def engine(database_url: str) -> Iterator[sa.Engine]:
    store = SqlStore(database_url)
    yield store.engine
    store.close()


def _delivery(conn: sa.Connection, key: str, status: str, at: dt.datetime) -> int:
    row = {
        "idempotency_key": key,
        "profile_id": "p_1",
        "channel": "email",
        "purpose": "marketing",
        "payload": "{}",
        "status": status,
        "created_at": at,
    }
    inserted = conn.execute(sa.insert(tables.outbox).values(row).returning(tables.outbox.c.id))
    outbox_id = int(inserted.scalar_one())
    conn.execute(
        sa.insert(tables.delivery_attempts).values(outbox_id=outbox_id, attempt=1, at=at, ok=True)
    )
    feedback = feedback_tables.delivery_feedback
    conn.execute(
        sa.insert(feedback).values(outbox_id=outbox_id, channel="email", kind="open", at=at)
    )
    return outbox_id


def _count(engine: sa.Engine, table: sa.Table) -> int:
    with engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_finished_deliveries_go_with_their_attempts_and_feedback(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        _delivery(conn, "sent-old", "sent", OLD)
        _delivery(conn, "dead-old", "dead", OLD)
        pending = _delivery(conn, "pending-old", "pending", OLD)
        recent = _delivery(conn, "sent-new", "sent", NEW)
    retention = Retention(engine)
    assert retention.expire("deliveries", CUTOFF, dry_run=True) == 2
    assert retention.expire("deliveries", CUTOFF) == 2
    with engine.connect() as conn:
        left = set(conn.execute(sa.select(tables.outbox.c.id)).scalars())
    assert left == {pending, recent}
    assert _count(engine, tables.delivery_attempts) == 2
    assert _count(engine, feedback_tables.delivery_feedback) == 2


def _event(seq: int, source: str, at: dt.datetime) -> dict[str, object]:
    return {
        "seq": seq,
        "source": source,
        "message_id": f"m{seq}",
        "type": "track",
        "event": "Product Viewed",
        "timestamp": at,
        "received_at": at,
        "body": "{}",
    }


def test_raw_events_are_not_deleted_past_the_engines_position(engine: sa.Engine) -> None:
    rows = [_event(n, "web", OLD) for n in range(1, 6)] + [_event(6, "juncture", OLD)]
    rows.append(_event(7, "web", NEW))
    with engine.begin() as conn:
        conn.execute(sa.insert(tables.events), rows)
    retention = Retention(engine)
    assert retention.expire("raw_events", CUTOFF, through=3) == 3
    assert retention.expire("derived_events", CUTOFF) == 1
    with engine.connect() as conn:
        left = list(
            conn.execute(sa.select(tables.events.c.seq).order_by(tables.events.c.seq)).scalars()
        )
    assert left == [4, 5, 7]
    assert retention.expire("raw_events", CUTOFF) == 2
    with pytest.raises(ValueError, match="unknown data class"):
        retention.expire("profiles", CUTOFF)
