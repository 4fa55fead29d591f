"""``juncture bench engine --breakdown``: where a commit's time goes.

The bench's events are appended once more with the engine, on a fresh SQLite database, with
every statement the writer runs timed on its connection (wall-clock time, fsync included)
and grouped by what it does: the COMMIT (writing the dirtied pages to the WAL, waiting for
the disk, and now and then a checkpoint), inserting events, upserting profiles and product
views, the duplicate check, and the rest of the SQL. What is left of the wall time is
Python: the engine, building rows, the writer's bookkeeping. Figures are per event.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from typing import Any, Final

Echo = Callable[[str], None]
Spent = defaultdict[str, float]  # seconds by kind of statement
# (what a statement does, how its SQL starts), first match wins.
_KINDS: Final = (
    ("commit (WAL pages, fsync, checkpoints)", "COMMIT"),
    ("insert events", "INSERT INTO events"),
    ("upsert profiles", "INSERT INTO profiles"),
    ("upsert product views", "INSERT INTO product_views"),
    ("duplicate check", "SELECT message_id FROM events"),
)
OTHER_SQL: Final = "other SQL"
PYTHON: Final = "Python (engine, rows, bookkeeping)"


def _kind(sql: str) -> str:
    for name, start in _KINDS:
        if sql.startswith(start):
            return name
    return OTHER_SQL


class _TimedCursor:
    """A sqlite3 cursor whose statements add their time to ``spent``."""

    def __init__(self, cursor: Any, spent: Spent) -> None:
        self._cursor, self._spent = cursor, spent

    def execute(self, sql: str, *args: Any) -> _TimedCursor:
        started = time.perf_counter()
        self._cursor.execute(sql, *args)
        self._spent[_kind(sql)] += time.perf_counter() - started
        return self

    def executemany(self, sql: str, rows: Any) -> _TimedCursor:
        started = time.perf_counter()
        self._cursor.executemany(sql, rows)
        self._spent[_kind(sql)] += time.perf_counter() - started
        return self

    def __iter__(self) -> Iterator[Any]:
        return iter(self._cursor)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


class _TimedConnection:
    def __init__(self, conn: Any, spent: Spent) -> None:
        self._conn, self._spent = conn, spent

    def cursor(self) -> _TimedCursor:
        return _TimedCursor(self._conn.cursor(), self._spent)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._conn, name)


def new() -> Spent:
    return defaultdict(float)


def instrument(spent: Spent) -> Callable[[Any], None]:
    """Times every statement of an SQLite writer into ``spent`` (the bench's own tool: it
    swaps the writer's connection for a timing one)."""

    def wrap(writer: Any) -> None:
        writer._conn = _TimedConnection(writer._conn, spent)

    return wrap


def report(
    spent: Spent, events: int, rate: float, commit_events: int, echo: Echo
) -> dict[str, float]:
    """Microseconds per event of each kind of work, the rest of the wall time as Python."""
    wall_us = 1e6 / rate
    ranked = sorted(spent.items(), key=lambda kv: -kv[1])
    per_event = {k: v / events * 1e6 for k, v in ranked}
    per_event[PYTHON] = wall_us - sum(per_event.values())
    echo(f"[engine] where an event's time goes, commits of {commit_events:,} (us per event):")
    for name, us in per_event.items():
        echo(f"[engine]   {us:6.1f}  {name}")
    echo(f"[engine]   {wall_us:6.1f}  in all ({rate:,.0f} events/s)")
    return per_event
