"""Deleting what is older than its retention window, per data class, in small batches so that
the writer (ingestion, the engine) never waits long for the database.

The classes: ``raw_events`` (what clients sent, by receive time; never past ``through``, the
last event the engine applied), ``derived_events`` (the engine's signals and segment
moves), ``deliveries`` (finished outbox rows: sent, dead, suppressed, shown; with their
attempts and feedback) and ``quarantine`` (rejected messages, replayed or not).
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import sqlalchemy as sa

from juncture.core.profile.reducer import DERIVED_SOURCE
from juncture.store import failures, feedback_tables, tables

CLASSES: Final = ("raw_events", "derived_events", "deliveries", "quarantine")
FINISHED: Final = ("sent", "dead", "suppressed", "shown")
BATCH: Final = 5000
_E, _F, _O = tables.events, tables.failed_events, tables.outbox


class Retention:
    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def expire(
        self, kind: str, before: dt.datetime, *, through: int | None = None, dry_run: bool = False
    ) -> int:
        """Deletes the rows of ``kind`` older than ``before`` (``raw_events``: only up to seq
        ``through``), or counts them when ``dry_run``; how many."""
        key, where = self._old(kind, before, through)
        if dry_run:
            with failures.connection(self.engine) as conn:
                found = conn.execute(sa.select(sa.func.count()).where(*where)).scalar_one()
                return int(found)
        total = 0
        while True:
            with failures.transaction(self.engine, f"expire {kind}") as conn:
                batch = list(
                    conn.execute(sa.select(key).where(*where).order_by(key).limit(BATCH)).scalars()
                )
                if batch:
                    self._delete(conn, kind, batch)
            total += len(batch)
            if len(batch) < BATCH:
                return total

    @staticmethod
    def _old(
        kind: str, before: dt.datetime, through: int | None
    ) -> tuple[sa.ColumnElement[int], list[sa.ColumnElement[bool]]]:
        if kind == "raw_events":
            bound = [] if through is None else [_E.c.seq <= through]
            return _E.c.seq, [_E.c.source != DERIVED_SOURCE, _E.c.received_at < before, *bound]
        if kind == "derived_events":
            return _E.c.seq, [_E.c.source == DERIVED_SOURCE, _E.c.received_at < before]
        if kind == "deliveries":
            return _O.c.id, [_O.c.status.in_(FINISHED), _O.c.created_at < before]
        if kind == "quarantine":
            return _F.c.id, [_F.c.received_at < before]
        raise ValueError(f"unknown data class {kind!r} (one of {', '.join(CLASSES)})")

    @staticmethod
    def _delete(conn: sa.Connection, kind: str, keys: list[int]) -> None:
        if kind in ("raw_events", "derived_events"):
            conn.execute(sa.delete(_E).where(_E.c.seq.in_(keys)))
        elif kind == "quarantine":
            conn.execute(sa.delete(_F).where(_F.c.id.in_(keys)))
        else:
            attempts, feedback = tables.delivery_attempts, feedback_tables.delivery_feedback
            conn.execute(sa.delete(attempts).where(attempts.c.outbox_id.in_(keys)))
            conn.execute(sa.delete(feedback).where(feedback.c.outbox_id.in_(keys)))
            conn.execute(sa.delete(_O).where(_O.c.id.in_(keys)))
