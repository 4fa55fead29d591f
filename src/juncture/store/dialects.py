"""What differs between SQLite and PostgreSQL: connection set-up and the write path (the
writers and their units of work, see ``store/base.py``).

Durability. SQLite runs in WAL mode. With ``synchronous=FULL`` (the default) every commit is
fsynced: an acknowledged event survives a process crash and a power loss. With ``NORMAL``
it survives a process crash (SIGKILL) but the last commits may be lost on power loss.
PostgreSQL commits are durable as its own ``synchronous_commit`` setting says (on by
default: power-loss safe).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, Final

import msgspec
import psycopg
import sqlalchemy as sa

from juncture.core.events import STORED_COLUMNS, Event, encode_body, from_row
from juncture.core.profile.reducer import DERIVED_SOURCE
from juncture.errors import PositionMoved, StoreError, StoreUnavailable, Unprocessable
from juncture.store import failed_rows, log_reads, state_generation
from juncture.store.base import Quarantined, Reading
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
_RELINK_ROWS: Final = 400  # 800 parameters a statement (SQLite allows 32,766)
# PostgreSQL: the transaction-level advisory lock (one bigint key; the leases of the
# distributed log use the two-int form, a separate key space) the writers of client events
# hold from their insert to their COMMIT.
_CLIENT_APPENDS: Final = 0x4A554E4354555245  # "JUNCTURE"
# SQLite: take seqs above every seq given before (``log_head``; the newest event stored,
# if something wrote events without moving it).
_NEWEST_SEQ: Final = "SELECT coalesce(max(seq), 0) FROM events"
_TAKE_SEQS: Final = (
    f"UPDATE log_head SET seq = max(seq, ({_NEWEST_SEQ})) + ? WHERE id = 1 RETURNING seq"
)

EVENT_COLUMNS: Final = (
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

    state_generation.watch(engine)
    return engine


def writer_for(engine: sa.Engine, *, table_log: bool = True) -> SqliteWriter | PostgresWriter:
    """A writer of the store; ``table_log`` False: its client events are not the log a
    consumer reads by ``seq`` (``juncture worker`` stores what the distributed log
    ordered), so on PostgreSQL its commits need not publish seqs in turn."""
    if engine.dialect.name == "sqlite":
        return SqliteWriter(engine)  # one write lock: seqs are published in turn anyway
    return PostgresWriter(engine, table_log=table_log)


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


def event_row(e: Event, time: Callable[[dt.datetime], Any]) -> tuple[Any, ...]:
    """An event's values in the order of ``EVENT_COLUMNS``, its times as ``time`` writes
    them (``sqlite_time`` on SQLite, unchanged on PostgreSQL)."""
    return (
        e.source,
        e.message_id,
        e.type,
        e.event,
        e.user_id,
        e.anonymous_id,
        time(e.timestamp),
        time(e.received_at),  # one request's events share it: sqlite_time remembers
        encode_body(e).decode(),
        e.profile_id,
    )


def event_of(row: Any) -> Event:
    """The event an ``events`` row holds (the mapping may carry other columns too)."""
    return from_row(**{name: row[name] for name in STORED_COLUMNS})


def as_given(value: dt.datetime) -> dt.datetime:
    """A time as PostgreSQL's driver takes it (``event_row``'s ``time`` there)."""
    return value


class SqliteWriter:
    """Writes on one SQLite connection: ``BEGIN IMMEDIATE`` holds the write lock, so seq
    numbers assigned here are dense and in commit order, and no other writer can store a
    key between a unit's :meth:`SqliteUnit.new` and its insert.

    The engine's working set is cached between commits (:class:`~juncture.store.state_cache.Cache`)
    while no other connection has changed the tables it holds rows of: the
    ``state_generation`` count, which every other writer of those tables bumps
    (:mod:`~juncture.store.state_generation`), is read under the write lock at the start of
    a unit that uses the cache and again before its COMMIT; when it moved in between, the
    cache is dropped. A unit that wrote those tables bumps it once before its COMMIT (for
    another writer's cache, in another process say); the log's appends by ingestion (events
    linked to no profile) and data-quality counts do not. A store without the count's row
    (tables made by ``metadata.create_all``) falls back to ``PRAGMA data_version``, which
    any other connection's commit moves. A failed commit drops the cache too."""

    def __init__(self, engine: sa.Engine) -> None:
        self._pooled = engine.raw_connection()
        conn = self._pooled.driver_connection
        assert isinstance(conn, sqlite3.Connection)
        self._conn = conn
        # A statement that may fail after changing rows keeps a statement journal: in
        # memory rather than in a temporary file, SQLite's default, which cost about 9 us
        # of CPU per row when each row the writer wrote fired a trigger (``bench engine``).
        conn.execute("PRAGMA temp_store=MEMORY")
        self._cache = Cache()
        self._seen: tuple[str, int] | None = None  # the generation (or data_version) seen

    def _version(self, cur: sqlite3.Cursor) -> tuple[str, int]:
        row = cur.execute("SELECT n FROM state_generation WHERE id = 1").fetchone()
        if row is not None:
            return "generation", int(row[0])
        return "data_version", int(cur.execute("PRAGMA data_version").fetchone()[0])

    def fresh_cache(self, cur: sqlite3.Cursor) -> Cache:
        version = self._version(cur)
        if version != self._seen:
            self._cache.clear()
            self._seen = version
        return self._cache

    def _committing(self, unit: SqliteUnit, cur: sqlite3.Cursor) -> None:
        """Before COMMIT: bump the count once for the watched rows this unit wrote; a unit
        that used the cache saw the count when it began, under the write lock, so the count
        now differs by its own bump only."""
        if unit.wrote_watched:
            state_generation.bump(cur)
        if unit.used_cache and self._seen is not None and self._seen[0] == "generation":
            self._seen = self._version(cur)

    @contextmanager
    def unit(self) -> Iterator[SqliteUnit]:
        cur = self._conn.cursor()
        try:
            cur.execute("BEGIN IMMEDIATE")
            unit = SqliteUnit(self, cur)
            yield unit
            self._committing(unit, cur)
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

    @contextmanager
    def reading(self) -> Iterator[SqliteReading | None]:
        """A read transaction (in WAL mode a snapshot that no writer waits on) through the
        writer's cache, whose ``state_generation`` count a later :meth:`unit` compares
        (:meth:`SqliteUnit.unchanged_since`). None on a store without the count: there any
        commit, ingestion's too, would look like a change."""
        cur = self._conn.cursor()
        try:
            cur.execute("BEGIN")  # deferred: the snapshot starts at the first read
            version = self._version(cur)
            if version[0] != "generation":
                yield None
                return
            yield SqliteReading(StateSql(cur, "sqlite", self.fresh_cache(cur)), version)
        except sqlite3.OperationalError as exc:
            self._rollback()
            raise StoreUnavailable(f"the event store cannot be read: {exc}") from exc
        except BaseException:  # what was read into the cache may be half worked on
            self._rollback()
            raise
        finally:
            if self._conn.in_transaction:
                self._conn.rollback()
            cur.close()

    def events_after(self, after_seq: int, limit: int) -> list[Event]:
        cur = self._conn.cursor()
        try:  # outside a transaction: a read takes no lock
            cur.execute(log_reads.statement("?"), log_reads.params(after_seq, limit))
            return log_reads.events(cur.fetchall(), sqlite=True)
        except sqlite3.OperationalError as exc:
            raise StoreUnavailable(f"the log cannot be read: {exc}") from exc
        except sqlite3.Error as exc:
            raise StoreError(f"the log cannot be read: {type(exc).__name__}") from exc
        finally:
            cur.close()

    def _rollback(self) -> None:
        self._cache.clear()
        self._seen = None
        if self._conn.in_transaction:
            self._conn.rollback()

    def close(self) -> None:
        # The pool's other users sort large reads in temporary files, as by default (a
        # connection that fails here is one the pool drops).
        with contextlib.suppress(sqlite3.Error):
            self._conn.execute("PRAGMA temp_store=DEFAULT")
        self._pooled.close()


class SqliteReading:
    """One read transaction of a :class:`SqliteWriter` (:meth:`SqliteWriter.reading`)."""

    def __init__(self, state: StateSql, version: tuple[str, int]) -> None:
        self.state = state
        self.version = version


class SqliteUnit:
    """One ``BEGIN IMMEDIATE`` transaction of a :class:`SqliteWriter`."""

    def __init__(self, writer: SqliteWriter, cur: sqlite3.Cursor) -> None:
        self._writer = writer
        self._cur = cur
        self._state: StateSql | None = None
        self._checked: set[tuple[str, str]] = set()  # keys new() found not stored
        # Whether this unit wrote rows another writer may cache (state_generation.TABLES):
        # the engine's working set, and events linked to a profile.
        self.wrote_watched = False

    @property
    def used_cache(self) -> bool:
        return self._state is not None

    @property
    def state(self) -> StateSql:
        if self._state is None:
            self._state = StateSql(self._cur, "sqlite", self._writer.fresh_cache(self._cur))
            self.wrote_watched = True  # the engine's transaction: it writes its working set
        return self._state

    def new(self, events: Sequence[Event]) -> list[Event]:
        known: set[tuple[str, str]] = set()
        by_source: dict[str, list[str]] = {}
        for event in events:
            by_source.setdefault(event.source, []).append(event.message_id)
        for source, ids in by_source.items():
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                rows = self._cur.execute(
                    f"SELECT message_id FROM events WHERE source = ? AND message_id IN ({marks})",
                    [source, *chunk],
                )
                known.update((source, row[0]) for row in rows)
        fresh = [e for e in events if (e.source, e.message_id) not in known]
        self._checked.update((e.source, e.message_id) for e in fresh)
        return fresh

    def insert(self, events: Sequence[Event]) -> list[Event]:
        checked = self._checked
        unchecked = [e for e in events if (e.source, e.message_id) not in checked]
        if unchecked:
            self.new(unchecked)  # under the write lock: still new when inserted below
        fresh = [e for e in events if (e.source, e.message_id) in checked]
        checked.difference_update((e.source, e.message_id) for e in fresh)
        if not fresh:
            return []
        self.wrote_watched |= any(e.profile_id is not None for e in fresh)
        top = self._top(len(fresh))
        stored = [msgspec.structs.replace(e, seq=top + i + 1) for i, e in enumerate(fresh)]
        self._cur.executemany(
            f"INSERT INTO events (seq, {EVENT_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            [(e.seq, *event_row(e, sqlite_time)) for e in stored],
        )
        return stored

    def _top(self, count: int) -> int:
        """The seq before the ``count`` to give now, taken from ``log_head`` (the newest seq
        ever given, moved past them here), never from the newest event stored alone: that
        one may have been deleted. A store without the row (tables made by
        ``metadata.create_all``) gives seqs after the newest event stored."""
        row = self._cur.execute(_TAKE_SEQS, (count,)).fetchone()
        if row is None:
            return int(self._cur.execute(_NEWEST_SEQ).fetchone()[0])
        return int(row[0]) - count

    def relink(self, events: Sequence[Event]) -> int:
        self.wrote_watched |= bool(events)
        return _relink_sqlite(self._cur, events)

    def advance(self, name: str, start: int, end: int, at: dt.datetime) -> None:
        _advance(self._cur, "?", name, (start, end), sqlite_time(at))

    def unchanged_since(self, reading: Reading) -> bool:
        """Compared under the write lock: the count every other writer of the engine's
        tables bumps (:mod:`~juncture.store.state_generation`) is where ``reading`` saw it."""
        assert isinstance(reading, SqliteReading)
        return self._writer._version(self._cur) == reading.version

    def quarantine(self, rows: Sequence[Quarantined]) -> int:
        failed = _failed_rows(rows, sqlite_time)
        if failed:
            self._cur.executemany(
                f"INSERT INTO failed_events ({failed_rows.COLUMNS}) "
                f"VALUES ({failed_rows.marks('?')})",
                failed,
            )
        return len(failed)


def _relink(cur: Any, mark: str, events: Sequence[Event]) -> int:
    """Set the stored events' ``profile_id``: by ``seq`` where the event carries it (read
    from the log: the row's own key, about 3 us of CPU a row cheaper on SQLite than the
    unique key's index), else by its ``(source, message_id)``."""
    by_seq = [(e.profile_id, e.seq) for e in events if e.seq > 0]
    if by_seq:
        cur.executemany(f"UPDATE events SET profile_id = {mark} WHERE seq = {mark}", by_seq)
    if len(by_seq) < len(events):
        cur.executemany(
            f"UPDATE events SET profile_id = {mark} WHERE source = {mark} AND message_id = {mark}",
            [(e.profile_id, e.source, e.message_id) for e in events if e.seq <= 0],
        )
    return len(events)


def _relink_sqlite(cur: sqlite3.Cursor, events: Sequence[Event]) -> int:
    """:func:`_relink` on SQLite, where the rows by ``seq`` are set by one statement per
    ``_RELINK_ROWS`` (joined to their values) rather than one per row: about 1.2 us of CPU
    a row less (3.5 against 4.7, commits of 2,000)."""
    by_seq = [v for e in events if e.seq > 0 for v in (e.seq, e.profile_id)]
    for start in range(0, len(by_seq), 2 * _RELINK_ROWS):
        part = by_seq[start : start + 2 * _RELINK_ROWS]
        cur.execute(_relink_statement(len(part) // 2), part)
    return len(by_seq) // 2 + _relink(cur, "?", [e for e in events if e.seq <= 0])


@functools.lru_cache(maxsize=8)
def _relink_statement(rows: int) -> str:
    values = ",".join(["(?,?)"] * rows)
    return (
        f"UPDATE events SET profile_id = v.column2 FROM (VALUES {values}) AS v "
        "WHERE events.seq = v.column1"
    )


def _advance(cur: Any, mark: str, name: str, span: tuple[int, int], at: Any) -> None:
    start, end = span
    cur.execute(
        f"UPDATE log_positions SET seq = {mark}, updated_at = {mark} "
        f"WHERE name = {mark} AND seq = {mark}",
        (end, at, name, start),
    )
    if cur.rowcount == 1:
        return
    if start == 0:
        cur.execute(
            f"INSERT INTO log_positions (name, seq, updated_at) VALUES ({mark}, {mark}, {mark}) "
            "ON CONFLICT (name) DO NOTHING",
            (name, end, at),
        )
        if cur.rowcount == 1:
            return
    raise PositionMoved(
        f"the log position {name!r} is no longer at {start}: another process applies this log"
    )


class PostgresWriter:
    """Writes on one PostgreSQL connection; ``ON CONFLICT DO NOTHING RETURNING`` tells
    which events were new, also against concurrent writers."""

    def __init__(self, engine: sa.Engine, *, table_log: bool = True) -> None:
        self._pooled = engine.raw_connection()
        conn = self._pooled.driver_connection
        assert isinstance(conn, psycopg.Connection)
        self._conn: psycopg.Connection[Any] = conn
        self._table_log = table_log

    @contextmanager
    def unit(self) -> Iterator[PostgresUnit]:
        try:
            with self._conn.transaction(), self._conn.cursor() as cur:
                yield PostgresUnit(cur, table_log=self._table_log)
        except (psycopg.DataError, psycopg.IntegrityError) as exc:  # the data's fault
            raise Unprocessable(f"the store refused a value: {exc}") from exc
        except psycopg.Error as exc:
            raise StoreUnavailable(f"the event store cannot be written: {exc}") from exc

    @contextmanager
    def reading(self) -> Iterator[None]:
        """None: a unit here locks the rows it writes, never the log's appends."""
        yield None

    def events_after(self, after_seq: int, limit: int) -> list[Event]:
        try:
            with self._conn.transaction(), self._conn.cursor() as cur:
                cur.execute(log_reads.statement("%s"), log_reads.params(after_seq, limit))
                rows = cur.fetchall()
        except psycopg.Error as exc:
            raise StoreUnavailable(f"the log cannot be read: {exc}") from exc
        return log_reads.events(rows, sqlite=False)

    def close(self) -> None:
        self._pooled.close()


class PostgresUnit:
    """One transaction of a :class:`PostgresWriter`."""

    def __init__(self, cur: psycopg.Cursor[Any], *, table_log: bool = True) -> None:
        self._cur = cur
        self._table_log = table_log
        self.state = StateSql(cur, "postgresql")

    def new(self, events: Sequence[Event]) -> list[Event]:
        # One lookup of the unique key per event, pipelined: `message_id = ANY(...)` was
        # planned, on a table without statistics yet (a new database, until autovacuum
        # analyzes it), as a scan of the source's whole index range, about 20 ms a commit
        # after 10,000 events. A concurrent writer's duplicate still loses at ON CONFLICT.
        known: set[tuple[str, str]] = set()
        if events:
            cur = self._cur
            cur.executemany(
                "SELECT source, message_id FROM events WHERE source = %s AND message_id = %s",
                [(e.source, e.message_id) for e in events],
                returning=True,
            )
            while True:
                known.update((source, message_id) for source, message_id in cur.fetchall())
                if not cur.nextset():
                    break
        return [e for e in events if (e.source, e.message_id) not in known]

    def insert(self, events: Sequence[Event]) -> list[Event]:
        if not events:
            return []
        cur = self._cur
        if self._table_log and any(e.source != DERIVED_SOURCE for e in events):
            # Client events: the sequence hands out seqs at insert, not at commit, so two
            # writers' commits could make a higher seq visible before a lower one, and the
            # engine, past the higher, would never read the lower. Held to the COMMIT, this
            # lock makes the writers of client events take and publish seqs in turn
            # (derived events, which the engine's read skips, do not wait for it).
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (_CLIENT_APPENDS,))
        cur.executemany(
            f"INSERT INTO events ({EVENT_COLUMNS}) "
            "VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) "
            "ON CONFLICT (source, message_id) DO NOTHING RETURNING seq",
            [event_row(e, as_given) for e in events],
            returning=True,
        )
        stored = []
        for event in events:
            row = cur.fetchone()
            if row is not None:
                stored.append(msgspec.structs.replace(event, seq=row[0]))
            cur.nextset()
        return stored

    def relink(self, events: Sequence[Event]) -> int:
        return _relink(self._cur, "%s", events)

    def advance(self, name: str, start: int, end: int, at: dt.datetime) -> None:
        _advance(self._cur, "%s", name, (start, end), at)

    def unchanged_since(self, reading: Reading) -> bool:  # noqa: ARG002 - gives no reading
        return False

    def quarantine(self, rows: Sequence[Quarantined]) -> int:
        failed = _failed_rows(rows, as_given)
        if failed:
            self._cur.executemany(
                f"INSERT INTO failed_events ({failed_rows.COLUMNS}) "
                f"VALUES ({failed_rows.marks('%s')})",
                failed,
            )
        return len(failed)
