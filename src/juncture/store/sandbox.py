"""A sandbox for dry runs: a scratch SQLite database beside nothing live, holding a copy of a
store's client events, segment definitions and running journeys, for the engine to replay
(:mod:`juncture.runtime.dry_run`). The live store is only read."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final, Protocol

import sqlalchemy as sa

from juncture.core.profile.reducer import DERIVED_SOURCE
from juncture.store import tables
from juncture.store.sql import SqlStore

PAGE: Final = 5000
ACTIVE: Final = "active"


class Source(Protocol):
    """A live store's reads (any repository over its engine)."""

    @property
    def engine(self) -> sa.Engine: ...


@contextmanager
def sandbox(directory: Path) -> Iterator[SqlStore]:
    """A new SQLite store with the whole schema in ``directory`` (which the caller removes),
    closed on leaving. Its tables are made from the one schema the migrations are tested to
    equal (faster than running them); durability is not needed: nothing in it outlives the
    dry run."""
    store = SqlStore(f"sqlite:///{directory / 'dry-run.db'}", sqlite_synchronous="NORMAL")
    try:
        tables.metadata.create_all(store.engine)
        yield store
    finally:
        store.close()


def copy_live(source: Source, target: SqlStore) -> int:
    """Copy the client events (in ``seq`` order, a page at a time), the segment definitions
    and the running journeys of ``source`` into ``target``; returns the events copied."""
    with source.engine.connect() as read, target.engine.begin() as write:
        for table, where in (
            (tables.segments, sa.true()),
            (tables.journeys, tables.journeys.c.status == ACTIVE),
        ):
            rows = [r._asdict() for r in read.execute(sa.select(table).where(where))]
            if rows:
                write.execute(table.insert(), rows)
        return _copy_events(read, write)


def _copy_events(read: sa.Connection, write: sa.Connection) -> int:
    e = tables.events
    copied, after = 0, 0
    while True:
        query = (
            sa.select(e)
            .where(e.c.seq > after, e.c.source != DERIVED_SOURCE)
            .order_by(e.c.seq)
            .limit(PAGE)
        )
        rows = [r._asdict() for r in read.execute(query)]
        if not rows:
            return copied
        write.execute(e.insert(), rows)
        copied += len(rows)
        after = rows[-1]["seq"]
