"""One unit of work on the write path, driven from here so that every arrow points down.

The runtime opens a transaction on the store's writer (a :class:`~juncture.store.base.Unit`),
keeps the events not stored yet, runs the engine (a :data:`Processor`) on the unit's state,
stores what it returns (the new events with their ``profile_id``, and the events it
derived) and the quarantine rows, and the writer commits. The store never calls the engine.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from juncture.core.events import Event
from juncture.store.base import Quarantined, Reading, Unit, Writer
from juncture.store.state import StateSql

# The engine, or a batch change of its own, in a unit's transaction: given the unit's state
# and the new events, the events to store (the new ones and any it derived).
Processor = Callable[[StateSql, list[Event]], list[Event]]


class Planned(Protocol):
    """A processor's work on a batch, worked out from a read of the state and not yet
    written (:func:`reapply`'s ``plan``)."""

    def save(self, state: StateSql) -> list[Event]:
        """Write it in the unit's transaction; the events to store, as a processor's."""
        ...


# The same work as a :data:`Processor`'s, in two parts: read and work out, then write.
Planner = Callable[[StateSql, list[Event]], Planned]


def probe(state: StateSql, events: list[Event]) -> list[Event]:
    """A processor that writes without changing anything: fails where the store refuses
    writes, as a real commit would (``probe`` of the committer and the follower)."""
    state.probe_write()
    return events


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What one commit did: the events newly stored (with ``seq``), how many of those
    given were stored already (or repeated), and how many rejections were quarantined."""

    stored: list[Event]
    duplicates: int
    quarantined: int


@dataclass(frozen=True, slots=True)
class Advance:
    """Move the log position ``name`` from ``start`` to ``end`` in the same transaction."""

    name: str
    start: int
    end: int
    at: dt.datetime


def commit(
    writer: Writer,
    events: Sequence[Event],
    quarantine: Sequence[Quarantined] = (),
    process: Processor | None = None,
    advance: Advance | None = None,
    *,
    plan: Planner | None = None,
) -> AppendResult:
    """Store ``events`` and ``quarantine`` in ONE transaction, then commit.

    Events whose ``(source, message_id)`` is stored already, or repeated within the call,
    are skipped and counted as duplicates. ``process`` sees only the new events, inside the
    transaction; a derived event it returns is stored once (its id is deterministic).
    ``advance`` moves a consumer's position with them (a worker reading a partition of the
    distributed log). ``plan``: for a commit of no events (the engine's timer tick), the
    work done before the write lock, as :func:`reapply` does (which new events there are
    is known only under the lock)."""
    unique = _unique(events)
    planned, read = _planned(writer, [], plan) if not unique else (None, None)
    with writer.unit() as unit:
        if advance is not None:
            unit.advance(advance.name, advance.start, advance.end, advance.at)
        if process is None:
            stored = unit.insert(unique)
        else:
            fresh = unit.new(unique)
            stored = unit.insert(_unique(_worked(unit, fresh, process, planned, read)))
        quarantined = unit.quarantine(quarantine)
    keys = {(e.source, e.message_id) for e in unique}
    new = sum(1 for e in stored if (e.source, e.message_id) in keys)
    return AppendResult(stored=stored, duplicates=len(events) - new, quarantined=quarantined)


def _unique(events: Sequence[Event]) -> list[Event]:
    """Each ``(source, message_id)`` once, the first of each, in order."""
    seen: dict[tuple[str, str], Event] = {}
    for event in events:
        seen.setdefault((event.source, event.message_id), event)
    return list(seen.values()) if len(seen) < len(events) else list(events)


@dataclass(frozen=True, slots=True)
class Applied:
    """What one :func:`reapply` did: derived events the engine gave (``derived``), how
    many of them were not stored yet (``new``), and client events moved to another
    profile (``relinked``)."""

    derived: int
    new: int
    relinked: int


def reapply(
    writer: Writer,
    events: Sequence[Event],
    process: Processor,
    advance: Advance | None = None,
    plan: Planner | None = None,
) -> Applied:
    """Run ``process`` over ``events``, stored already (the engine behind the log, and
    replay), in one transaction: the engine reads and writes state as in a live commit, a
    client event whose profile changed gets its ``profile_id`` rewritten, a derived event
    is stored only when its deterministic id is not stored yet (:func:`commit` would skip
    every one of ``events``: they are all stored), and ``advance`` moves the consumer's
    position with them, so that each event is applied exactly once in effect.

    ``plan`` (the same work as ``process``, in two parts): where the writer offers a read
    that holds no lock (:meth:`~juncture.store.base.Writer.reading`: SQLite), the work is
    done there, before the unit takes the write lock, and the unit only writes it, so
    that ingestion's commits do not wait while the engine works; when another connection
    changed the engine's tables in between, the unit does the work again under the lock."""
    before = {(e.source, e.message_id): e.profile_id for e in events}
    planned, read = _planned(writer, events, plan)
    with writer.unit() as unit:
        if advance is not None:
            unit.advance(advance.name, advance.start, advance.end, advance.at)
        out = _worked(unit, list(events), process, planned, read)
        moved = [
            e
            for e in out
            if (e.source, e.message_id) in before
            and before[(e.source, e.message_id)] != e.profile_id
        ]
        unit.relink(moved)
        derived = _unique([e for e in out if (e.source, e.message_id) not in before])
        new = unit.insert(derived)
    return Applied(derived=len(derived), new=len(new), relinked=len(moved))


def _planned(
    writer: Writer, events: Sequence[Event], plan: Planner | None
) -> tuple[Planned | None, Reading | None]:
    """``plan``'s work on ``events`` from a read that holds no lock, and that read (its
    version, for the unit to compare); None where the writer offers no such read."""
    if plan is None:
        return None, None
    with writer.reading() as reading:
        if reading is None:
            return None, None
        return plan(reading.state, list(events)), reading


def _worked(
    unit: Unit,
    events: list[Event],
    process: Processor,
    planned: Planned | None,
    read: Reading | None,
) -> list[Event]:
    """The work written in ``unit``: what was planned from ``read``, when nothing changed
    since, else ``process`` run in the unit."""
    if planned is not None and read is not None and unit.unchanged_since(read):
        return planned.save(unit.state)
    return process(unit.state, events)
