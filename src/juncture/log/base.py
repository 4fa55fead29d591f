"""The log port: what ingestion appends to and what workers read, partition by partition.

An :class:`Entry` is one accepted event, encoded (:func:`encode`), with the key that routes
it (:func:`route`: the person's stable routing id) and the id that deduplicates it
(``source:messageId``). Each partition is read in the order it was appended; a
:class:`Record`'s ``position`` grows within its partition and is what a worker commits in
``log_positions`` with the state it changed.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Protocol

import msgspec

from juncture.core.events import Event

_encoder: Final = msgspec.msgpack.Encoder()
_decoder: Final = msgspec.msgpack.Decoder(Event)


@dataclass(frozen=True, slots=True)
class Entry:
    """One event to append: its partition, its dedup id and its bytes."""

    partition: int
    msg_id: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class Appended:
    """The log's acknowledgement of one entry: where it stands, and whether the log had it
    already (the same ``msg_id`` within the dedup window)."""

    position: int
    duplicate: bool


@dataclass(frozen=True, slots=True)
class Record:
    """One entry read back from a partition."""

    partition: int
    position: int
    payload: bytes

    def event(self) -> Event:
        return decode(self.payload)


@dataclass(frozen=True, slots=True)
class Pending:
    """What a partition holds after a position: how many records (a log that counts them
    one by one stops at :data:`PENDING_LIMIT`) and the first of them (None: none)."""

    records: int
    first: Record | None


PENDING_LIMIT: Final = 100_000  # records counted one by one per partition, at most


class Log(Protocol):
    """A partitioned, durable, deduplicating log (one adapter per module of this package).
    Thread-safe: ingestion appends from any thread, a worker reads from its own."""

    partitions: int

    def append(self, entries: Sequence[Entry]) -> list[Appended]:
        """Append ``entries`` and wait until the log acknowledged each (in their order, per
        partition); :class:`~juncture.errors.LogUnavailable` when it did not."""
        ...

    async def append_async(self, entries: Sequence[Entry]) -> list[Appended]:
        """:meth:`append` for an event loop."""
        ...

    def read(self, partition: int, after: int, limit: int, wait: float) -> list[Record]:
        """Up to ``limit`` records of ``partition`` after position ``after``, in order,
        waiting up to ``wait`` seconds for the first when there is none yet."""
        ...

    def last(self, partition: int) -> int:
        """The position of the newest record of ``partition`` (0: none)."""
        ...

    def pending(self, partition: int, after: int) -> Pending:
        """The records of ``partition`` after position ``after``: how many, and the first
        (what lag is measured from)."""
        ...

    def close(self) -> None: ...


def route(event: Event) -> str:
    """The key an event is partitioned by: the person's stable routing id, the ``userId``
    when it has one, else the device's ``anonymousId`` (identity merges across partitions:
    docs/operations.md, Identity across partitions)."""
    return event.user_id or event.anonymous_id or event.previous_id or event.message_id


def partition_of(key: str, partitions: int) -> int:
    """The partition of a routing key: a hash every process computes alike (CRC-32)."""
    return zlib.crc32(key.encode()) % partitions


def entry(event: Event, partitions: int) -> Entry:
    """``event`` as an :class:`Entry` of a log of ``partitions`` partitions."""
    return Entry(
        partition_of(route(event), partitions),
        f"{event.source}:{event.message_id}",
        encode(event),
    )


def encode(event: Event) -> bytes:
    return _encoder.encode(event)


def decode(payload: bytes) -> Event:
    return _decoder.decode(payload)
