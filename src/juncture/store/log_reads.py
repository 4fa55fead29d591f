"""The engine's read of the log, on its writer's connection: the client events after a
position, in ``seq`` order, through the driver.

Through SQLAlchemy (``SqlStore.events``) the same read cost about 20 us of CPU per event
on SQLite, a sixth of the engine's whole cost per event (``juncture bench engine``): its
rows, and its parsing of SQLite's time text. Here the driver's rows become events
directly (by position), SQLite's times through ``datetime.fromisoformat``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from juncture.core.events import STORED_COLUMNS, Event, as_utc, from_stored
from juncture.core.profile.reducer import DERIVED_SOURCE
from juncture.store.state_base import read_sqlite_time

_SQL: Final = (
    f"SELECT {', '.join(STORED_COLUMNS)} FROM events WHERE seq > {{m}} AND source <> {{m}} "
    "ORDER BY seq LIMIT {m}"
)


def statement(mark: str) -> str:
    """The read with the driver's placeholder ``mark``; its parameters: :func:`params`."""
    return _SQL.format(m=mark)


def params(after_seq: int, limit: int) -> tuple[int, str, int]:
    return (after_seq, DERIVED_SOURCE, limit)


def events(rows: Iterable[tuple[Any, ...]], *, sqlite: bool) -> list[Event]:
    """The events of the rows :func:`statement` selected (SQLite's times are naive UTC
    text; PostgreSQL's driver gives aware datetimes)."""
    time = read_sqlite_time if sqlite else as_utc
    return [from_stored(row, time) for row in rows]
