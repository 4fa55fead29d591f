"""Partitions of the distributed log leased to workers, and the people a worker's
transaction holds, through PostgreSQL advisory locks (no consensus of our own).

A worker holds a session of its own (:class:`Leases`). Joining takes a worker slot; a
partition is owned while its session lock is held. When a worker dies its connection
closes and PostgreSQL drops its locks at once, so the others see its partitions free at
their next look. A lease alone does not fence a worker that lost it without noticing: the
position a commit moves (``Unit.advance``, compare and set) does.

Two partitions can hold one person for a while (an anonymous device's events in one, the
user's in another, before and while they merge): :func:`hold_people` takes, in the
transaction that applies events, a transaction lock on each identifier they carry and on
each profile those reach, so that two workers never read and write one profile at once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import zlib
from collections.abc import Iterable, Sequence
from typing import Any, Final

import psycopg
import sqlalchemy as sa

from juncture.errors import StoreUnavailable
from juncture.store.state import StateSql

_SLOTS: Final = 1024  # worker slots looked through when joining


def _space(name: str, what: str) -> int:
    """A 32-bit advisory-lock namespace for ``what`` of the log ``name``."""
    return zlib.crc32(f"juncture:{name}:{what}".encode()) - 2**31


class Leases:
    """A worker's session: its slot, the partitions it owns (see the module)."""

    def __init__(self, engine: sa.Engine, name: str) -> None:
        if engine.dialect.name != "postgresql":
            raise StoreUnavailable("workers need PostgreSQL (JUNCTURE_DATABASE_URL)")
        self._pooled = engine.raw_connection()
        conn = self._pooled.driver_connection
        assert isinstance(conn, psycopg.Connection)
        conn.autocommit = True
        self._conn: psycopg.Connection[Any] = conn
        self._workers = _space(name, "workers")
        self._partitions = _space(name, "partitions")
        self.slot = -1

    def join(self) -> int:
        """Take the first free worker slot (counted by :meth:`workers`)."""
        for slot in range(_SLOTS):
            if self._try(self._workers, slot):
                self.slot = slot
                return slot
        raise StoreUnavailable(f"more than {_SLOTS} workers")

    def workers(self) -> int:
        """How many workers hold a slot now."""
        return self._count(self._workers)

    def owned(self) -> set[int]:
        """The partitions this session holds (PostgreSQL's word, not a local belief)."""
        rows = self._query(
            "SELECT objid FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND classid::int = %s AND objsubid = 2 AND pid = pg_backend_pid()",
            (self._partitions,),
        )
        return {int(r[0]) for r in rows}

    def take(self, partition: int) -> bool:
        """Own ``partition`` if no one does; whether this session owns it now."""
        return self._try(self._partitions, partition)

    def give_up(self, partition: int) -> None:
        self._query("SELECT pg_advisory_unlock(%s, %s)", (self._partitions, partition))

    def close(self) -> None:
        with contextlib.suppress(psycopg.Error):
            self._pooled.close()

    def _try(self, space: int, key: int) -> bool:
        rows = self._query("SELECT pg_try_advisory_lock(%s, %s)", (space, key))
        return bool(rows[0][0])

    def _count(self, space: int) -> int:
        rows = self._query(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND classid::int = %s AND objsubid = 2 "
            "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())",
            (space,),
        )
        return int(rows[0][0])

    def _query(self, sql: str, params: tuple[Any, ...]) -> list[tuple[Any, ...]]:
        try:
            with self._conn.cursor() as cur:
                cur.execute(sql, params)
                return list(cur.fetchall())
        except psycopg.Error as exc:
            raise StoreUnavailable(f"the worker's lease session failed: {exc}") from exc


def owners(engine: sa.Engine, name: str) -> dict[int, int]:
    """Which server process (PostgreSQL backend pid) owns each partition of the log
    ``name`` now; a partition no one owns is absent."""
    query = sa.text(
        "SELECT objid, pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
        "AND classid::int = :space AND objsubid = 2"
    )
    with engine.connect() as conn:
        rows = conn.execute(query, {"space": _space(name, "partitions")}).all()
    return {int(partition): int(pid) for partition, pid in rows}


def hold_people(state: StateSql, identifiers: Iterable[str], profiles: Iterable[str]) -> set[str]:
    """In ``state``'s transaction (PostgreSQL), lock each of ``identifiers`` and the
    profiles they and ``profiles`` reach (merged ones followed through their forwarding
    record, ``redirect_to``, to the survivor), until the transaction ends; the profiles
    held. What they reach is read again once those locks are held, and any new profile
    locked too, until nothing new appears: a merge that committed while this waited for a
    lock (another partition's worker merging one of these people into someone else) is
    followed to its survivor, whom this transaction then holds as well. On SQLite its one
    writer holds every profile already: nothing is locked and the profiles named are
    returned."""
    if state.sqlite:
        return set(profiles)
    cur = state.cur
    names = sorted(set(identifiers))
    _lock(cur, "identity", names)
    held: set[str] = set()
    reached = _reached(cur, names, set(profiles))
    while reached - held:
        # Each round in one order; a later one may meet a lock out of it: PostgreSQL then
        # breaks the deadlock, and the worker retries its transaction (StoreUnavailable).
        _lock(cur, "profile", sorted(reached - held))
        held |= reached
        reached = _reached(cur, names, held)
    return held


def _reached(cur: Any, names: list[str], profiles: set[str]) -> set[str]:
    """The profiles of ``names`` and ``profiles``, with every survivor their forwarding
    records lead to, as committed now."""
    cur.execute("SELECT profile_id FROM identities WHERE identifier = ANY(%s)", (names,))
    wanted = {r[0] for r in cur.fetchall()} | profiles
    seen: set[str] = set()
    while wanted - seen:
        batch = sorted(wanted - seen)
        seen.update(batch)
        cur.execute(
            "SELECT redirect_to FROM profiles WHERE profile_id = ANY(%s) "
            "AND redirect_to IS NOT NULL",
            (batch,),
        )
        wanted.update(r[0] for r in cur.fetchall())
    return seen


def hold_partitions(state: StateSql, names: Sequence[str], at: dt.datetime) -> None:
    """Hold the positions ``names`` of every partition (made at 0 where none is yet) until
    this transaction ends: a worker's commit moves its position first, so none commits
    meanwhile, and one that began before is waited for. A batch change on an ingestion
    node (an erasure, a segment move) is then never undone by a worker's commit that read
    the person before it. Nothing on SQLite: its one writer holds them apart."""
    if state.sqlite:
        return
    cur = state.cur
    cur.executemany(
        "INSERT INTO log_positions (name, seq, updated_at) VALUES (%s, 0, %s) "
        "ON CONFLICT (name) DO NOTHING",
        [(name, at) for name in names],
    )
    cur.execute(
        "SELECT seq FROM log_positions WHERE name = ANY(%s) ORDER BY name FOR UPDATE",
        (sorted(names),),
    )


def due_profiles(state: StateSql, now: Any) -> list[str]:
    """The profiles with a timer due at ``now`` (a tick locks them first)."""
    state.cur.execute(
        f"SELECT DISTINCT profile_id FROM timers WHERE due_at <= {state.mark}", (state.t(now),)
    )
    return [r[0] for r in state.cur.fetchall()]


def _lock(cur: Any, kind: str, keys: list[str]) -> None:
    if keys:
        cur.execute(
            "SELECT pg_advisory_xact_lock(k) FROM unnest(%s::bigint[]) AS k",
            (sorted({_key(kind, k) for k in keys}),),  # one order: no two wait on each other
        )


def _key(kind: str, key: str) -> int:
    """A 64-bit lock key for ``key`` (two CRC-32s: collisions only make two wait)."""
    text = f"{kind}:{key}".encode()
    return (zlib.crc32(text) << 32 | zlib.crc32(text[::-1])) - 2**63
