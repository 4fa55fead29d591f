"""The storage interface. Every adapter passes ``tests/contract``.

A :class:`Store` is shared by threads for reads. Writes go through one :class:`Writer` at a
time (a connection owned by one thread), a :class:`Unit` (one transaction) at a time, so
that a batch of requests commits together: group commit is what makes "durable before 200"
cheap. The runtime drives each unit (``runtime/unit_of_work.py``); the store never calls up.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from juncture.core.events import Event
from juncture.core.messages import Rejection
from juncture.store.state import StateSql


@dataclass(frozen=True, slots=True)
class Quarantined:
    """Rejections of one request, with where they came from."""

    source: str
    received_at: dt.datetime
    rejections: Sequence[Rejection]
    type_hint: str | None = None  # the endpoint's type for single-message endpoints


@dataclass(frozen=True, slots=True)
class FailedEvent:
    id: int
    source: str
    received_at: dt.datetime
    message_id: str | None
    code: str
    reason: str
    path: str
    payload: str
    status: str
    type_hint: str | None
    raw: bytes | None = None  # the exact bytes received, where ``payload`` could not be them

    def body(self) -> bytes:
        """The message as it was received."""
        return self.raw if self.raw is not None else self.payload.encode()


class Reading(Protocol):
    """A read of the engine's working set that holds no lock a writer waits on
    (:meth:`Writer.reading`)."""

    @property
    def state(self) -> StateSql:
        """The working set, for reading only: a write here fails or waits."""
        ...


class Unit(Protocol):
    """One transaction on a writer's connection. The runtime drives it (store the new
    events, run the engine on :attr:`state`, store what it derived) and the writer commits
    when the ``with`` block ends without an error, else rolls back. A value the database
    refuses raises :class:`~juncture.errors.Unprocessable`, a store that cannot be written
    :class:`~juncture.errors.StoreUnavailable`; anything else passes through unchanged."""

    @property
    def state(self) -> StateSql:
        """The engine's working set, read and written in this transaction."""
        ...

    def new(self, events: Sequence[Event]) -> list[Event]:
        """Those of ``events`` whose ``(source, message_id)`` is not stored yet, in order
        (the caller passes each key once)."""
        ...

    def insert(self, events: Sequence[Event]) -> list[Event]:
        """Store those of ``events`` not stored yet (each key once, in order) and return
        them with their ``seq``; a key stored already (by anyone) is skipped."""
        ...

    def relink(self, events: Sequence[Event]) -> int:
        """Rewrite the ``profile_id`` of stored events to theirs (replay); how many."""
        ...

    def quarantine(self, rows: Sequence[Quarantined]) -> int:
        """Keep rejected messages in the quarantine; how many rows were written."""
        ...

    def advance(self, name: str, start: int, end: int, at: dt.datetime) -> None:
        """Move the log position ``name`` from ``start`` (0: none yet) to ``end``, in this
        transaction; :class:`~juncture.errors.PositionMoved` when it is not at ``start``
        (another consumer applies the same log)."""
        ...

    def unchanged_since(self, reading: Reading) -> bool:
        """Whether no other connection has changed the engine's working set since
        ``reading`` read it (a :meth:`Writer.reading` ended before this unit began), so
        that what was worked out from it holds in this unit."""
        ...


class Writer(Protocol):
    """One connection that writes, owned by one thread at a time."""

    def unit(self) -> AbstractContextManager[Unit]:
        """A transaction: committed when the block ends, durable to the degree the store's
        settings promise (docs/tracking.md: Durability)."""
        ...

    def reading(self) -> AbstractContextManager[Reading | None]:
        """A read of the engine's working set that holds no lock a writer waits on, so
        that the engine can work out a batch before its :meth:`unit` takes the write lock
        and ingestion goes on meanwhile (SQLite: one write lock for the whole file). None
        where that gains nothing (PostgreSQL locks rows, not the log) or where the writer
        could not tell, in the unit, that nothing changed since: then work in the unit."""
        ...

    def events_after(self, after_seq: int, limit: int) -> list[Event]:
        """Up to ``limit`` client events (none derived) after ``after_seq``, in ``seq``
        order, read on this writer's connection outside any unit (the engine behind the
        log)."""
        ...

    def close(self) -> None: ...


class Store(Protocol):
    dialect: str

    def writer(self, *, table_log: bool = True) -> Writer: ...

    def events(
        self,
        *,
        user_id: str | None = None,
        anonymous_id: str | None = None,
        after_seq: int = 0,
        limit: int = 100,
        derived: bool | None = None,
    ) -> list[Event]:
        """Stored events in ``seq`` order, optionally for one identity; ``derived`` False
        keeps only client events, True only engine-derived ones."""
        ...

    def count_events(self) -> int: ...

    def event_counts(self) -> dict[str, int]: ...

    def failed(self, *, status: str | None = "failed", limit: int = 100) -> list[FailedEvent]: ...

    def mark_replayed(self, ids: Sequence[int], at: dt.datetime) -> None: ...

    def add_write_key(self, *, source: str, name: str, key_hash: str, at: dt.datetime) -> None: ...

    def write_key_source(self, key_hash: str) -> str | None: ...

    def ping(self) -> None:
        """Raise StoreUnavailable unless the store answers."""
        ...

    def close(self) -> None: ...
