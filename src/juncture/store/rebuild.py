"""Rebuilding the engine's state from the event log (``juncture replay``).

:meth:`Rebuild.clear` empties every table the engine derives from the log (identities,
profiles and their product views, device users, merges, identity conflicts, timers) and
leaves ``events`` alone.
:meth:`Rebuild.apply` then feeds stored client events through the engine again, one
transaction per call: the engine reads and writes state as in a live commit (see
``store/state.py``), a client event whose profile changed gets its ``profile_id``
rewritten, and a derived event is inserted only when its deterministic ``message_id`` is
not stored yet. The writer's dedup cannot be used for this: it would skip every event,
since they are all stored already.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import psycopg
import sqlalchemy as sa

from juncture.core.events import UTC, Event, encode_body
from juncture.core.journeys.orchestrate import JOURNEY_TIMER
from juncture.core.profile.reducer import DERIVED_SOURCE
from juncture.errors import StoreUnavailable
from juncture.store import tables
from juncture.store.base import Processor
from juncture.store.sql import SqlStore
from juncture.store.state import StateSql
from juncture.store.state_base import sqlite_time

STATE_TABLES: Final = (
    tables.identities,
    tables.profiles,
    tables.product_views,
    tables.device_users,
    tables.merges,
    tables.identity_conflicts,
    tables.timers,
    tables.segment_members,
)
_CHUNK: Final = 500
_COLUMNS: Final = (
    "source, message_id, type, event, user_id, anonymous_id, timestamp, received_at, body, "
    "profile_id"
)


@dataclass(frozen=True, slots=True)
class Applied:
    """What one :meth:`Rebuild.apply` did: derived events the engine gave (``derived``),
    how many of them were not stored yet (``new``), and client events moved to another
    profile (``relinked``)."""

    derived: int
    new: int
    relinked: int


class Rebuild:
    """Rebuilds the engine state of one SQL store. Run it while nothing else writes."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store
        self.engine = store.engine
        self.sqlite = store.dialect == "sqlite"

    def clear(self) -> None:
        """Delete the engine's state; the event log stays as it is. Journey state (enrollments,
        their wait timers, the outbox) stays too: replay does not run journeys again, so no
        customer hears twice from one event."""
        with self.engine.begin() as conn:
            for table in STATE_TABLES:
                if table is tables.timers:
                    conn.execute(table.delete().where(table.c.kind != JOURNEY_TIMER))
                else:
                    conn.execute(table.delete())

    def client_events(self, after_seq: int, limit: int) -> list[Event]:
        """Stored client events (not derived ones) after ``after_seq``, in ``seq`` order."""
        return self.store.events(after_seq=after_seq, limit=limit, derived=False)

    def count_client_events(self) -> int:
        t = tables.events
        query = sa.select(sa.func.count()).where(t.c.source != DERIVED_SOURCE)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def timers_due(self, now: dt.datetime) -> int:
        """How many timers are due at ``now``."""
        t = tables.timers
        query = sa.select(sa.func.count()).select_from(t).where(t.c.due_at <= now.astimezone(UTC))
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def apply(self, events: Sequence[Event], process: Processor) -> Applied:
        """Run ``process`` over ``events`` (stored already) in one transaction."""
        pooled = self.engine.raw_connection()
        conn: Any = pooled.driver_connection
        cur = conn.cursor()
        try:
            if self.sqlite:
                cur.execute("BEGIN IMMEDIATE")
            applied = self._apply(cur, list(events), process)
            conn.commit()
        except (sqlite3.Error, psycopg.Error) as exc:
            conn.rollback()
            raise StoreUnavailable(f"the store cannot be rebuilt: {exc}") from exc
        except Exception:
            conn.rollback()
            raise
        finally:
            cur.close()
            pooled.close()
        return applied

    def _apply(self, cur: Any, events: list[Event], process: Processor) -> Applied:
        dialect = "sqlite" if self.sqlite else "postgresql"
        before = {(e.source, e.message_id): e.profile_id for e in events}
        out = process(StateSql(cur, dialect), events)
        mark = "?" if self.sqlite else "%s"
        moved = [
            (e.profile_id, e.source, e.message_id)
            for e in out
            if (e.source, e.message_id) in before
            and before[(e.source, e.message_id)] != e.profile_id
        ]
        if moved:
            cur.executemany(
                f"UPDATE events SET profile_id = {mark} "
                f"WHERE source = {mark} AND message_id = {mark}",
                moved,
            )
        fresh = {e.message_id: e for e in out if (e.source, e.message_id) not in before}
        derived = list(fresh.values())
        new = self._missing(cur, derived)
        if new:
            self._insert(cur, new)
        return Applied(derived=len(derived), new=len(new), relinked=len(moved))

    def _missing(self, cur: Any, derived: list[Event]) -> list[Event]:
        mark = "?" if self.sqlite else "%s"
        known: set[str] = set()
        ids = [e.message_id for e in derived]
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            cur.execute(
                f"SELECT message_id FROM events WHERE source = {mark} "
                f"AND message_id IN ({','.join([mark] * len(chunk))})",
                [DERIVED_SOURCE, *chunk],
            )
            known.update(row[0] for row in cur.fetchall())
        return [e for e in derived if e.message_id not in known]

    def _insert(self, cur: Any, new: list[Event]) -> None:
        if self.sqlite:
            top = cur.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]
            cur.executemany(
                f"INSERT INTO events (seq, {_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                [(top + i + 1, *self._row(e)) for i, e in enumerate(new)],
            )
            return
        cur.executemany(
            f"INSERT INTO events ({_COLUMNS}) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) "
            "ON CONFLICT (source, message_id) DO NOTHING",
            [self._row(e) for e in new],
        )

    def _row(self, e: Event) -> tuple[Any, ...]:
        def t(value: dt.datetime) -> Any:
            return sqlite_time(value) if self.sqlite else value

        return (
            e.source,
            e.message_id,
            e.type,
            e.event,
            e.user_id,
            e.anonymous_id,
            t(e.timestamp),
            t(e.received_at),
            encode_body(e).decode(),
            e.profile_id,
        )
