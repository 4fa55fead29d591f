"""What differs between SQLite and PostgreSQL: connection set-up and the append path.

Durability. SQLite runs in WAL mode. With ``synchronous=FULL`` (the default) every commit is
fsynced: an acknowledged event survives a process crash and a power loss. With ``NORMAL``
it survives a process crash (SIGKILL) but the last commits may be lost on power loss.
PostgreSQL commits are durable as its own ``synchronous_commit`` setting says (on by
default: power-loss safe).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Any, Final

import msgspec
import psycopg
import sqlalchemy as sa

from juncture.core.events import Event, encode_body
from juncture.errors import StoreUnavailable, Unprocessable
from juncture.store import failed_rows
from juncture.store.base import AppendResult, Quarantined
from juncture.store.state import StateSql
from juncture.store.state_base import sqlite_time
from juncture.store.state_cache import Cache

SQLITE_SYNC_MODES: Final = ("FULL", "NORMAL", "EXTRA")
# The writer rewrites many profile rows (several KB each) per commit. A 64 MiB page cache
# keeps the working set's pages in memory, and checkpointing the WAL every 10,000 pages
# (about 40 MB) rather than 1,000 copies a page rewritten by several commits back into the
# database once: together about 15% more events/s with the engine (bench engine).
_SQLITE_CACHE_KIB: Final = 65536
_SQLITE_CHECKPOINT_PAGES: Final = 10_000
_CHUNK: Final = 500

_EVENT_COLUMNS: Final = (
    "source, message_id, type, event, user_id, anonymous_id, timestamp, received_at, body, "
    "profile_id"
)


def create_engine(url: str, *, sqlite_synchronous: str = "FULL") -> sa.Engine:
    if not url.startswith("sqlite"):
        # hide_parameters: a database error logged with its traceback must not carry the
        # statement's values (user ids, message bodies) into the logs.
        return sa.create_engine(url, pool_pre_ping=True, pool_size=8, hide_parameters=True)
    mode = sqlite_synchronous.upper()
    if mode not in SQLITE_SYNC_MODES:
        raise ValueError(f"sqlite synchronous must be one of {SQLITE_SYNC_MODES}, not {mode!r}")
    engine = sa.create_engine(
        url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True
    )

    @sa.event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: sqlite3.Connection, _record: object) -> None:
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute(f"PRAGMA synchronous={mode}")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute(f"PRAGMA cache_size=-{_SQLITE_CACHE_KIB}")
        cur.execute(f"PRAGMA wal_autocheckpoint={_SQLITE_CHECKPOINT_PAGES}")
        cur.close()

    return engine


def writer_for(engine: sa.Engine) -> SqliteWriter | PostgresWriter:
    if engine.dialect.name == "sqlite":
        return SqliteWriter(engine)
    return PostgresWriter(engine)


def _unique(events: Sequence[Event]) -> tuple[list[Event], int]:
    seen: dict[tuple[str, str], Event] = {}
    for event in events:
        seen.setdefault((event.source, event.message_id), event)
    return list(seen.values()), len(events) - len(seen)


Processor = Callable[[StateSql, list[Event]], list[Event]]


def _with_derived(
    fresh: list[Event], processed: list[Event], check: Callable[[list[Event]], list[Event]]
) -> list[Event]:
    """The processed events, keeping derived ones only when not stored already."""
    incoming = {(e.source, e.message_id) for e in fresh}
    extra = [e for e in processed if (e.source, e.message_id) not in incoming]
    unique_extra, _ = _unique(extra)
    keep = incoming | {(e.source, e.message_id) for e in check(unique_extra)}
    out: list[Event] = []
    for event in processed:
        key = (event.source, event.message_id)
        if key in keep:
            keep.discard(key)
            out.append(event)
    return out


def _failed_rows(quarantine: Sequence[Quarantined], time: Any) -> list[tuple[Any, ...]]:
    return [
        failed_rows.row(
            source=q.source,
            received_at=time(q.received_at),
            message_id=r.message_id,
            code=r.code,
            reason=r.message,
            path=r.path,
            raw=r.raw,
            type_hint=q.type_hint,
        )
        for q in quarantine
        for r in q.rejections
    ]


class SqliteWriter:
    """Appends on one SQLite connection: ``BEGIN IMMEDIATE`` holds the write lock, so seq
    numbers assigned here are dense and in commit order.

    The engine's working set is cached between commits (:class:`~juncture.store.state_cache.Cache`)
    while this connection is the only one that has written: ``PRAGMA data_version``, read
    under the write lock, changes when another connection commits, and then the cache is
    dropped. A failed commit drops it too."""

    def __init__(self, engine: sa.Engine) -> None:
        self._pooled = engine.raw_connection()
        conn = self._pooled.driver_connection
        assert isinstance(conn, sqlite3.Connection)
        self._conn = conn
        self._cache = Cache()
        self._data_version: int | None = None

    def _fresh_cache(self, cur: sqlite3.Cursor) -> Cache:
        version = cur.execute("PRAGMA data_version").fetchone()[0]
        if version != self._data_version:
            self._cache.clear()
            self._data_version = version
        return self._cache

    def append(
        self,
        events: Sequence[Event],
        quarantine: Sequence[Quarantined],
        process: Processor | None = None,
    ) -> AppendResult:
        unique, repeated = _unique(events)
        cur = self._conn.cursor()
        try:
            cur.execute("BEGIN IMMEDIATE")
            fresh = self._fresh(cur, unique)
            new = len(fresh)
            if process is not None:
                state = StateSql(cur, "sqlite", self._fresh_cache(cur))
                fresh = _with_derived(
                    fresh,
                    process(state, fresh),
                    lambda extra: self._fresh(cur, extra),
                )
            top = cur.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0]
            stored = [msgspec.structs.replace(e, seq=top + i + 1) for i, e in enumerate(fresh)]
            cur.executemany(
                f"INSERT INTO events (seq, {_EVENT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                [_sqlite_row(e) for e in stored],
            )
            failed = _failed_rows(quarantine, sqlite_time)
            if failed:
                cur.executemany(
                    f"INSERT INTO failed_events ({failed_rows.COLUMNS}) "
                    f"VALUES ({failed_rows.marks('?')})",
                    failed,
                )
            cur.execute("COMMIT")
        except sqlite3.OperationalError as exc:  # locked, disk full, I/O: the store's state
            self._rollback()
            raise StoreUnavailable(f"the event store cannot be written: {exc}") from exc
        except sqlite3.Error as exc:  # a value the database refuses: the data's fault
            self._rollback()
            raise Unprocessable(f"the store refused a value: {exc}") from exc
        except BaseException:
            self._rollback()
            raise
        finally:
            cur.close()
        self._cache.trim()
        return AppendResult(
            stored=stored, duplicates=repeated + len(unique) - new, quarantined=len(failed)
        )

    def _rollback(self) -> None:
        self._cache.clear()
        if self._conn.in_transaction:
            self._conn.rollback()

    def _fresh(self, cur: sqlite3.Cursor, events: list[Event]) -> list[Event]:
        known: set[tuple[str, str]] = set()
        by_source: dict[str, list[str]] = {}
        for event in events:
            by_source.setdefault(event.source, []).append(event.message_id)
        for source, ids in by_source.items():
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = cur.execute(
                    f"SELECT message_id FROM events WHERE source = ? AND message_id IN ({marks})",
                    [source, *chunk],
                )
                known.update((source, row[0]) for row in rows)
        return [e for e in events if (e.source, e.message_id) not in known]

    def close(self) -> None:
        self._pooled.close()


def _sqlite_row(e: Event) -> tuple[Any, ...]:
    return (
        e.seq,
        e.source,
        e.message_id,
        e.type,
        e.event,
        e.user_id,
        e.anonymous_id,
        sqlite_time(e.timestamp),
        sqlite_time(e.received_at),  # one request's events share it: sqlite_time remembers
        encode_body(e).decode(),
        e.profile_id,
    )


class PostgresWriter:
    """Appends on one PostgreSQL connection; ``ON CONFLICT DO NOTHING RETURNING`` tells
    which events were new, also against concurrent writers."""

    def __init__(self, engine: sa.Engine) -> None:
        self._pooled = engine.raw_connection()
        conn = self._pooled.driver_connection
        assert isinstance(conn, psycopg.Connection)
        self._conn: psycopg.Connection[Any] = conn

    def append(
        self,
        events: Sequence[Event],
        quarantine: Sequence[Quarantined],
        process: Processor | None = None,
    ) -> AppendResult:
        unique, _ = _unique(events)
        stored: list[Event] = []
        try:
            with self._conn.transaction(), self._conn.cursor() as cur:
                if process is not None:
                    unique = self._processed(cur, unique, process)
                if unique:
                    cur.executemany(
                        f"INSERT INTO events ({_EVENT_COLUMNS}) "
                        "VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) "
                        "ON CONFLICT (source, message_id) DO NOTHING RETURNING seq",
                        [_pg_row(e) for e in unique],
                        returning=True,
                    )
                    stored = self._returned(cur, unique)
                failed = _failed_rows(quarantine, lambda t: t)
                if failed:
                    cur.executemany(
                        f"INSERT INTO failed_events ({failed_rows.COLUMNS}) "
                        f"VALUES ({failed_rows.marks('%s')})",
                        failed,
                    )
        except (psycopg.DataError, psycopg.IntegrityError) as exc:  # the data's fault
            raise Unprocessable(f"the store refused a value: {exc}") from exc
        except psycopg.Error as exc:
            raise StoreUnavailable(f"the event store cannot be written: {exc}") from exc
        incoming = {(e.source, e.message_id) for e in events}
        new = sum(1 for e in stored if (e.source, e.message_id) in incoming)
        return AppendResult(stored=stored, duplicates=len(events) - new, quarantined=len(failed))

    def _processed(
        self, cur: psycopg.Cursor[Any], events: list[Event], process: Processor
    ) -> list[Event]:
        # Only events not stored yet may change state: look them up first, in this
        # transaction (a concurrent writer's duplicate still loses at ON CONFLICT). One
        # lookup of the unique key per event, pipelined: `message_id = ANY(...)` was
        # planned, on a table without statistics yet (a new database, until autovacuum
        # analyzes it), as a scan of the source's whole index range, about 20 ms a commit
        # after 10,000 events.
        known: set[tuple[str, str]] = set()
        if events:
            cur.executemany(
                "SELECT source, message_id FROM events WHERE source = %s AND message_id = %s",
                [(e.source, e.message_id) for e in events],
                returning=True,
            )
            while True:
                known.update((source, message_id) for source, message_id in cur.fetchall())
                if not cur.nextset():
                    break
        fresh = [e for e in events if (e.source, e.message_id) not in known]
        return process(StateSql(cur, "postgresql"), fresh)

    @staticmethod
    def _returned(cur: psycopg.Cursor[Any], events: list[Event]) -> list[Event]:
        stored = []
        for event in events:
            row = cur.fetchone()
            if row is not None:
                stored.append(msgspec.structs.replace(event, seq=row[0]))
            cur.nextset()
        return stored

    def close(self) -> None:
        self._pooled.close()


def _pg_row(e: Event) -> tuple[Any, ...]:
    return (
        e.source,
        e.message_id,
        e.type,
        e.event,
        e.user_id,
        e.anonymous_id,
        e.timestamp,
        e.received_at,
        encode_body(e).decode(),
        e.profile_id,
    )
