"""SQLite event rows: the receive time's text is shared only by events that share it."""

from __future__ import annotations

import datetime as dt

from juncture.core.events import Event
from juncture.store import dialects
from juncture.store.state import sqlite_time

T = dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC)


def _event(n: int, received_at: dt.datetime) -> Event:
    return Event(source="s", message_id=f"m{n}", type="track", timestamp=T, received_at=received_at)


def test_rows_follow_each_events_own_receive_time() -> None:
    first, second = T, T + dt.timedelta(seconds=1)
    same_as_first = T.replace()  # equal to ``first`` but another object
    events = [_event(0, first), _event(1, first), _event(2, second), _event(3, same_as_first)]
    rows = dialects._sqlite_rows(events)
    assert [row[8] for row in rows] == [sqlite_time(e.received_at) for e in events]
    assert rows == [dialects._sqlite_row(e) for e in events]
