"""The engine's read of the log, on its writer's connection: the client events after a
position, in ``seq`` order, through the driver.

Through SQLAlchemy (``SqlStore.events``) the same read cost about 20 us of CPU per event
on SQLite, a sixth of the engine's whole cost per event (``juncture bench engine``): its
rows, and its parsing of SQLite's time text. Here the driver's rows become events
directly, SQLite's times through ``datetime.fromisoformat``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any, Final

from juncture.core.events import UTC, Event, from_row
from juncture.core.profile.reducer import DERIVED_SOURCE

_SQL: Final = (
    "SELECT seq, source, message_id, type, event, user_id, anonymous_id, timestamp, "
    "received_at, body, profile_id FROM events WHERE seq > {m} AND source <> {m} "
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
    time = _sqlite_time if sqlite else _as_given
    found = []
    for row in rows:
        seq, source, message_id, type_, event, user_id, anonymous_id = row[:7]
        timestamp, received_at, body, profile_id = row[7:]
        found.append(
            from_row(
                seq=seq,
                source=source,
                message_id=message_id,
                type=type_,
                event=event,
                user_id=user_id,
                anonymous_id=anonymous_id,
                timestamp=time(timestamp),
                received_at=time(received_at),
                body=body,
                profile_id=profile_id,
            )
        )
    return found


def _sqlite_time(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


def _as_given(value: dt.datetime) -> dt.datetime:
    return value
