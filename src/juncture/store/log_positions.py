"""Where each consumer of the event log stands and how far behind it is (a unit of work
moves a position: ``Unit.advance``; the events after it are ``Store.events``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Final

import sqlalchemy as sa

from juncture.core.events import as_utc
from juncture.core.profile.reducer import DERIVED_SOURCE
from juncture.store import failures, tables

COUNT_LIMIT: Final = 1_000_000  # lag is counted up to this many events, then reported as more


@dataclass(frozen=True, slots=True)
class Behind:
    """How far a consumer is behind the log: client events not applied yet (at most
    :data:`COUNT_LIMIT`) and when the oldest of them was received (None: caught up)."""

    events: int
    oldest: dt.datetime | None

    def seconds(self, now: dt.datetime) -> float:
        return 0.0 if self.oldest is None else max(0.0, (now - self.oldest).total_seconds())


class LogPositions:
    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def position(self, name: str) -> int:
        """The seq of the last client event ``name`` applied (0: none yet)."""
        t = tables.log_positions
        with self._connect() as conn:
            found = conn.execute(sa.select(t.c.seq).where(t.c.name == name)).scalar()
        return int(found or 0)

    def positions(self, names: Sequence[str]) -> dict[str, int]:
        """:meth:`position` of each of ``names``, in one read."""
        t = tables.log_positions
        with self._connect() as conn:
            rows = conn.execute(sa.select(t.c.name, t.c.seq).where(t.c.name.in_(names))).all()
        found = {name: int(seq) for name, seq in rows}
        return {name: found.get(name, 0) for name in names}

    def head(self) -> int:
        """The seq of the newest client event in the log (0: none)."""
        e = tables.events
        query = sa.select(sa.func.max(e.c.seq)).where(e.c.source != DERIVED_SOURCE)
        with self._connect() as conn:
            return int(conn.execute(query).scalar() or 0)

    def behind(self, after: int) -> Behind:
        """Client events after seq ``after``: how many (up to :data:`COUNT_LIMIT`) and
        when the first was received."""
        e = tables.events
        client = sa.and_(e.c.seq > after, e.c.source != DERIVED_SOURCE)
        window = sa.select(e.c.seq).where(client).limit(COUNT_LIMIT).subquery()
        first = sa.select(e.c.received_at).where(client).order_by(e.c.seq).limit(1)
        with self._connect() as conn:
            count = int(conn.execute(sa.select(sa.func.count()).select_from(window)).scalar_one())
            oldest = conn.execute(first).scalar()
        return Behind(count, as_utc(oldest) if oldest is not None else None)

    def _connect(self) -> AbstractContextManager[sa.Connection]:
        return failures.connection(self._engine)
