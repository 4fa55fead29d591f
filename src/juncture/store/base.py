"""The storage interface. Every adapter passes ``tests/contract``.

A :class:`Store` is shared by threads for reads. Appends go through one :class:`Writer` at a
time (a connection owned by one thread), so that a batch of requests commits together:
group commit is what makes "durable before 200" cheap.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
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


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What one commit did: the events newly stored (with ``seq``) and how many were old."""

    stored: list[Event]
    duplicates: int
    quarantined: int


Processor = Callable[[StateSql, list[Event]], list[Event]]


class Writer(Protocol):
    def append(
        self,
        events: Sequence[Event],
        quarantine: Sequence[Quarantined],
        process: Processor | None = None,
    ) -> AppendResult:
        """Store new events and quarantine rows in ONE transaction, then commit.

        Events whose ``(source, message_id)`` is already stored, or repeated within the
        call, are skipped and counted as duplicates. ``process`` (the engine) sees the new
        events inside the transaction, may read and write state through ``StateSql``, and
        returns the events to store: the new ones (with ``profile_id``) and any derived
        ones. When this returns, the commit is durable to the degree the store's settings
        promise (see README: Durability).
        """
        ...

    def close(self) -> None: ...


class Store(Protocol):
    dialect: str

    def writer(self) -> Writer: ...

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
