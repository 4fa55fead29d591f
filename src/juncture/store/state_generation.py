"""The ``state_generation`` count (SQLite only): it moves when a connection other than the
engine's writer changes a table the writer's cache holds rows of, so that the writer
drops its cache (``dialects.SqliteWriter``), or one the engine behind the log reads before
it takes the write lock (its timers and segment memberships: ``Writer.reading``), so that
it works the batch out again under the lock; and only then: ingestion appending unlinked
events, data-quality counts or the catalogue leave it.

Who bumps it, once per statement that changed rows (not per row), in that statement's
transaction:

- every connection of a SQLite engine made by ``dialects.create_engine``, for each
  statement it runs that writes a watched table, whatever runs it (the repositories, the
  API and CLI, the dispatcher, erasure, migrations): :func:`watch` listens to the engine;
- a raw driver cursor that writes a watched table calls :func:`bump` itself: the writer
  does, once per commit that wrote one (for another writer's cache: its own knows);
  ``tests/contract/test_engine_state.py`` lists the modules that take raw connections;
- a statement marked :data:`BUMPS_ITSELF` (:func:`bumped_by_caller`) is left to its caller,
  which calls :func:`bump_on` only when what it changed is held in a cache: the
  dispatcher's claim and record of a message (``store/outbox``) bump for a marketing
  message only. The cache holds a profile's marketing contacts and nothing
  else of the outbox (``store/state_journeys``): its status among those counted, its time
  ``COALESCE(sent_at, next_attempt_at, created_at)``, and the dispatcher changes both for
  every message it moves on (the claim's lease is the time of a ``sending`` one); a
  transactional message's status, attempts and lease matter to no cache. Every other
  statement on the outbox (an insert, a delete, ``suppress``, ``retry_dead``) bumps as
  any other, whatever the message: a new statement is watched unless marked.

A write made outside Juncture (the ``sqlite3`` shell) is not seen: make it with the engine
stopped, or bump the count in the same transaction. Until migration 0025, triggers on each
watched table bumped it for every row, the engine's own included: about 3.5 us of CPU a
row written, even for a trigger whose condition was false.
"""

from __future__ import annotations

import functools
import re
import sqlite3
from typing import Any, Final, TypeVar

import sqlalchemy as sa

from juncture.store.state_cache import WATCHED

# ``events`` too: a profile's recent events are cached for segments. Any write to it by
# another connection bumps (ingestion's appends go through a writer's raw cursor, which
# bumps only for events linked to a profile). ``timers`` and ``segment_members`` are not
# cached, but the engine behind the log reads them before it takes the write lock
# (``Writer.reading``) and writes what it worked out from them: a change by another
# connection in between must make it work the batch out again under the lock.
TABLES: Final = frozenset((*WATCHED, "events", "timers", "segment_members"))
BUMP: Final = "UPDATE state_generation SET n = n + 1 WHERE id = 1"
# The table a statement writes, wherever the verb is (after a WITH, say): its name may be
# schema-qualified or quoted. DROP and ALTER TABLE: a migration that rebuilds a table.
_TARGET: Final = re.compile(
    r"\b(?:INSERT(?:\s+OR\s+\w+)?\s+INTO|REPLACE\s+INTO|UPDATE(?:\s+OR\s+\w+)?|DELETE\s+FROM"
    r"|DROP\s+TABLE(?:\s+IF\s+EXISTS)?|ALTER\s+TABLE)\s+(?:[\"`\[]?\w+[\"`\]]?\.)?[\"`\[]?(\w+)",
    re.IGNORECASE,
)
# The driver counts the rows a statement with RETURNING changed only once they are fetched.
_RETURNING: Final = re.compile(r"\bRETURNING\b", re.IGNORECASE)
# The execution option of a statement whose caller bumps the count itself when it must.
BUMPS_ITSELF: Final = "juncture_bumps_itself"
_S = TypeVar("_S", bound=sa.Executable)


@functools.lru_cache(maxsize=2048)
def writes_watched(statement: str) -> bool:
    """Whether ``statement`` writes one of :data:`TABLES` (a statement reading them while
    it writes another table does not).

    >>> writes_watched("UPDATE outbox SET status = ? WHERE id = ?")
    True
    >>> writes_watched("INSERT INTO segment_sizes SELECT s, count(*) FROM profiles")
    False
    """
    return any(m.group(1).lower() in TABLES for m in _TARGET.finditer(statement))


def bump(conn: Any) -> None:
    """Move the count in the transaction open on ``conn`` (a sqlite3 connection or
    cursor). A store whose schema has no count yet (migrations before 0019 running) has no
    cache to warn."""
    try:
        conn.execute(BUMP)
    except sqlite3.OperationalError as exc:
        if "no such table" not in str(exc):
            raise


def bumped_by_caller(statement: _S) -> _S:
    """``statement`` marked :data:`BUMPS_ITSELF`: its caller calls :func:`bump_on` in the
    same transaction whenever it changed rows a cache may hold."""
    return statement.execution_options(**{BUMPS_ITSELF: True})


def bump_on(conn: sa.Connection) -> None:
    """:func:`bump` in the transaction of ``conn`` (a SQLAlchemy connection); nothing on
    PostgreSQL, whose writers keep no cache."""
    if conn.dialect.name == "sqlite":
        bump(conn.connection.driver_connection)


def watch(engine: sa.Engine) -> None:
    """Bump the count after each statement that changed rows of a watched table (or may
    have: DDL, RETURNING) on any connection of ``engine`` (a SQLite engine), unless it is
    marked :data:`BUMPS_ITSELF`."""
    sa.event.listen(engine, "after_cursor_execute", _executed)


def _executed(
    _conn: sa.Connection, cursor: Any, statement: str, _params: Any, ctx: Any, _many: bool
) -> None:
    if (
        writes_watched(statement)
        and (cursor.rowcount != 0 or _RETURNING.search(statement))
        and not (ctx is not None and ctx.execution_options.get(BUMPS_ITSELF))
    ):
        bump(cursor.connection)
