"""Rebuilding the engine's state from the event log (``juncture replay``).

:meth:`Rebuild.clear` empties every table the engine derives from the log (identities,
profiles and their product views, device users, merges, identity conflicts, timers) and
leaves ``events`` alone.
:func:`juncture.runtime.unit_of_work.reapply` then feeds stored client events through the
engine again, one unit of work per call, and :meth:`Rebuild.client_events` pages through
them.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

import sqlalchemy as sa

from juncture.core.events import UTC, Event
from juncture.core.journeys.orchestrate import JOURNEY_TIMER
from juncture.core.profile.reducer import DERIVED_SOURCE
from juncture.store import tables
from juncture.store.sql import SqlStore

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
