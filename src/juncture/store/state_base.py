"""What each part of the engine's working set in the store shares: one driver cursor in
the caller's transaction, its placeholder, time values as the dialect stores them, reads of
many keys in chunks, and the writer's :class:`Cache`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Final

from juncture.core.events import UTC
from juncture.store import driver_sql
from juncture.store.state_cache import Cache

CHUNK: Final = 500  # keys per IN (...) query


def sqlite_time(value: dt.datetime) -> str:
    """The text form SQLAlchemy uses for DateTime on SQLite, always in UTC (``isoformat``
    is several times cheaper than ``strftime`` on the hot path; cutting its ``+00:00`` off
    is cheaper than making a naive copy first: the year always has four digits).

    Most UTC times are written more than once (an event's timestamp is its profile's
    ``last_seen`` too; ``first_seen``; the commit's time on every row), so recent ones are
    remembered. Only UTC ones: two times in one other zone may compare equal while an
    hour apart (PEP 495's ``fold``)."""
    if value.tzinfo is not UTC:
        return value.astimezone(UTC).isoformat(" ", "microseconds")[:26]
    text = _TIMES.get(value)
    if text is None:
        if len(_TIMES) >= _TIMES_KEPT:
            _TIMES.clear()
        text = _TIMES[value] = value.isoformat(" ", "microseconds")[:26]
    return text


_TIMES: Final[dict[dt.datetime, str]] = {}
_TIMES_KEPT: Final = 20_000


def read_sqlite_time(text: str) -> dt.datetime:
    """The UTC time :func:`sqlite_time` wrote (naive text), aware: parsed with the offset
    appended, which gives ``UTC`` itself and costs about a tenth of parsing and then
    ``replace(tzinfo=UTC)`` (its keyword is parsed the slow way). Text that carries an
    offset of its own, or a date alone, is read as before: its wall time, in UTC."""
    try:
        read = dt.datetime.fromisoformat(text + "+00:00")
    except ValueError:
        read = None
    if read is None or read.tzinfo is not UTC:  # (a date alone drops the offset appended)
        return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)
    return read


def split(
    cached: Mapping[str, Any] | None, keys: Sequence[str]
) -> tuple[dict[str, Any], list[str]]:
    if cached is None:
        return {}, list(keys)
    hits = {k: cached[k] for k in keys if k in cached}
    return hits, [k for k in keys if k not in hits]


class StateBase:
    """One driver cursor, in the caller's transaction; with a :class:`Cache`, reads come
    from it where they can and writes go through it."""

    def __init__(self, cursor: Any, dialect: str, cache: Cache | None = None) -> None:
        self.cur = cursor
        self.sqlite = dialect == "sqlite"
        self.mark = driver_sql.mark(dialect)
        self.cache = cache

    def probe_write(self) -> None:
        """A write that changes nothing: fails where the store refuses writes (a read-only
        PostgreSQL, a SQLite file that cannot be written) as a real commit would."""
        self.cur.execute("UPDATE timers SET due_at = due_at WHERE 1 = 0")

    def lock_position(self, name: str) -> None:
        """Hold the log position ``name`` until this transaction ends, so that it and the
        engine's commits (which move that position first) never interleave: an erasure
        beside an engine in another process cannot be undone by a commit that read the
        person before it. SQLite's write lock (``BEGIN IMMEDIATE``) already holds them
        apart."""
        if not self.sqlite:
            self.cur.execute("SELECT seq FROM log_positions WHERE name = %s FOR UPDATE", (name,))

    # -- time values -------------------------------------------------------------------
    def t(self, value: dt.datetime | None) -> Any:
        if value is None or not self.sqlite:
            return value
        return sqlite_time(value)

    def read_t(self, value: Any) -> dt.datetime:
        if isinstance(value, dt.datetime):
            return value if value.tzinfo else value.replace(tzinfo=UTC)
        return read_sqlite_time(str(value))

    def _in(self, sql: str, keys: Sequence[Any]) -> list[tuple[Any, ...]]:
        """The rows of ``sql`` for all ``keys`` (see :meth:`_each`)."""
        return [row for cur in self._each(sql, keys) for row in cur.fetchall()]

    def _each(self, sql: str, keys: Sequence[Any]) -> Iterator[Any]:
        """Run ``sql`` for ``keys`` a chunk at a time (``{marks}`` in it: one placeholder per
        key of the chunk), giving the cursor after each run; nothing runs without keys."""
        for start in range(0, len(keys), CHUNK):
            chunk = keys[start : start + CHUNK]
            self.cur.execute(sql.format(marks=",".join([self.mark] * len(chunk))), chunk)
            yield self.cur
