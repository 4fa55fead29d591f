"""``juncture worker``: the engine over partitions of the distributed log, past one machine.

A worker joins (a slot in :class:`~juncture.store.leases.Leases`), and every lease interval
takes free partitions up to its share (``ceil(partitions / workers)``) and gives up those
past it, so that partitions spread over the workers alive and a dead worker's move within
about one interval. For each partition it owns it reads the records after the position it
committed (``log_positions``, one row per partition) and applies them in order, in
batches: the new events, the state the engine changed, the events it derived and the
partition's new position in ONE PostgreSQL transaction (:func:`unit_of_work.commit` with
an :class:`Advance`), so that every acknowledged event is applied exactly once in effect,
whatever dies when. A commit that finds its position moved means another worker took the
partition: this one lets it go.

Each transaction first locks the people its events name (:func:`hold_people`), so that
two workers never apply to one profile at once (a merge across partitions), and fires only
the timers of people it holds; the worker owning partition 0 also ticks: it fires every due
timer, holding their people (none while its engine holds the timers: ``juncture worker
--overdue hold``). Any number of servers may dispatch: the outbox's claims (``FOR UPDATE
SKIP LOCKED``) send each message once.

An event the engine cannot apply is found by halving the batch and kept in the quarantine
(``unprocessable``); the position moves past it.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from juncture.core import identity
from juncture.core.events import Event
from juncture.errors import JunctureError, PositionMoved, Unavailable
from juncture.log import Log
from juncture.log.base import Record
from juncture.runtime import isolation
from juncture.runtime.clock import Clock
from juncture.runtime.engine import Engine
from juncture.runtime.unit_of_work import Advance, AppendResult, commit
from juncture.runtime.writer_slot import WriterSlot
from juncture.store.base import Writer
from juncture.store.leases import Leases, due_profiles, hold_people
from juncture.store.log_positions import LogPositions
from juncture.store.state import StateSql

log = logging.getLogger("juncture.worker")
_RETRY_SECONDS = 0.2  # after a failed transaction (a deadlock, a lost connection)
_TICK_SECONDS = 1.0


def position_name(log_name: str, partition: int) -> str:
    """The ``log_positions`` row of one partition."""
    return f"log:{log_name}:{partition}"


@dataclass
class Progress:
    """What a worker did, for its metrics, the CLI and the benches."""

    applied: int = 0
    commits: int = 0
    quarantined: int = 0
    lag_seconds: float = 0.0  # from receipt to commit, of the last event applied
    positions: dict[int, int] = field(default_factory=dict)


class Worker:
    """Owns partitions of ``log`` and applies them (see the module)."""

    def __init__(
        self,
        log_: Log,
        leases: Leases,
        positions: LogPositions,
        *,
        writer: Callable[[], Writer],
        engine: Engine,
        clock: Clock,
        name: str = "juncture",
        max_events: int = 2000,
        lease_interval: float = 1.0,
        poll: float = 0.02,
        on_apply: Callable[[int, float], None] | None = None,
    ) -> None:
        self._log = log_
        self._leases = leases
        self._positions = positions
        self._writer = WriterSlot(writer)
        self._engine = engine
        self._clock = clock
        self._name = name
        self._max_events = max_events
        self._lease_interval = lease_interval
        self._poll = poll
        self._on_apply = on_apply
        self.progress = Progress()
        self.failing: str | None = None  # why the last round failed (None: it did not)
        self.owned: dict[int, int] = {}  # partition -> the position committed
        self._next_lease = 0.0
        self._next_tick = 0.0

    # -- the loop ----------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        self._leases.join()
        log.info("worker %d joined", self._leases.slot)
        try:
            while not stop.is_set():
                try:
                    worked = self.round()
                except Unavailable as exc:
                    log.warning("the worker will retry: %s", exc.message)
                    self.failing = exc.message
                    self._writer.drop()
                    stop.wait(_RETRY_SECONDS)
                    continue
                self.failing = None
                if not worked:
                    stop.wait(self._poll)
        finally:
            self.close()

    @property
    def log(self) -> Log:
        return self._log

    @property
    def clock(self) -> Clock:
        return self._clock

    def unready(self) -> str | None:
        """Why this worker is not ready: it has not joined yet, or its last round failed
        (the store or the log unreachable); None when it is."""
        if self._leases.slot < 0:
            return "the worker has not joined yet"
        if self.failing is not None:
            return f"the worker fails: {self.failing}"
        return None

    def close(self) -> None:
        """Let go of everything: the writer, the leases (other workers take the partitions
        at their next look) and the log."""
        self._writer.drop()
        self._leases.close()
        self._log.close()

    def round(self) -> bool:
        """One look at the leases when due, a tick when due, and one batch of each owned
        partition; whether any event was applied."""
        self._lease_due()
        if 0 in self.owned and not self._engine.hold_timers and time.monotonic() >= self._next_tick:
            self._next_tick = time.monotonic() + _TICK_SECONDS
            self._tick()
        worked = False
        for partition in sorted(self.owned):
            self._lease_due()  # a dead worker's partitions wait for no round to end
            if partition not in self.owned:
                continue  # given up or lost since the round began
            records = self._log.read(partition, self.owned[partition], self._max_events, 0.0)
            if records:
                self._batch(partition, records)
                worked = True
        return worked

    def _lease_due(self) -> bool:
        """Look at the leases when the interval has passed (also between two partitions'
        batches, so that a handover waits for one commit at most); whether it looked."""
        now = time.monotonic()
        if now < self._next_lease:
            return False
        self.rebalance()
        self._next_lease = now + self._lease_interval
        return True

    def rebalance(self) -> None:
        """Take free partitions up to this worker's share, give up those past it."""
        partitions = self._log.partitions
        held = self._leases.owned()
        for lost in set(self.owned) - held:
            log.warning("worker %d lost partition %d", self._leases.slot, lost)
            del self.owned[lost]
        share = math.ceil(partitions / max(1, self._leases.workers()))
        while len(self.owned) > share:
            partition = max(self.owned)
            self._leases.give_up(partition)
            del self.owned[partition]
        start = (self._leases.slot * share) % partitions  # each worker looks from elsewhere
        for offset in range(partitions):
            if len(self.owned) >= share:
                break
            partition = (start + offset) % partitions
            if partition not in self.owned and self._leases.take(partition):
                at = self._positions.position(position_name(self._name, partition))
                self.owned[partition] = at
                log.info("worker %d took partition %d at %d", self._leases.slot, partition, at)
        self.progress.positions = dict(self.owned)

    # -- applying ----------------------------------------------------------------------------
    def _batch(self, partition: int, records: Sequence[Record]) -> None:
        started = time.perf_counter()
        try:
            self._bisect(partition, list(records))
        except PositionMoved:
            log.warning(
                "partition %d moved on under worker %d: let go", partition, self._leases.slot
            )
            self._leases.give_up(partition)
            self.owned.pop(partition, None)
            return
        if self._on_apply is not None:
            self._on_apply(len(records), time.perf_counter() - started)

    def _bisect(self, partition: int, records: list[Record]) -> None:
        """Apply ``records`` in as few transactions as failures allow, in order; one that
        fails alone is set aside."""
        isolation.halve(
            records,
            lambda run: self._apply(partition, run),
            lambda record, exc: self._set_aside(partition, record, exc),
            passes=(Unavailable, PositionMoved),
            halving=isolation.isolating,
        )

    def _apply(self, partition: int, records: Sequence[Record]) -> None:
        events = [r.event() for r in records]
        end = records[-1].position
        advance = Advance(
            position_name(self._name, partition), self.owned[partition], end, self._clock.now()
        )
        commit(self._writer.get(), events, (), self._holding, advance)
        self._moved(partition, end, events)

    def _set_aside(self, partition: int, record: Record, exc: Exception) -> None:
        log.warning("the worker could not apply one event (%s): quarantined", type(exc).__name__)
        rows = isolation.quarantine([(record.event(), isolation.reason(exc))])
        name = position_name(self._name, partition)
        with self._writer.get().unit() as unit:
            unit.advance(name, self.owned[partition], record.position, self._clock.now())
            unit.quarantine(rows)
        self.progress.quarantined += 1
        self._moved(partition, record.position, [])

    def _moved(self, partition: int, end: int, events: Sequence[Event]) -> None:
        self.owned[partition] = end
        self.progress.positions[partition] = end
        self.progress.applied += len(events)
        self.progress.commits += 1
        if events:
            newest = max(e.received_at for e in events)
            self.progress.lag_seconds = (self._clock.now() - newest).total_seconds()

    def _holding(self, state: StateSql, events: list[Event]) -> list[Event]:
        """The engine, holding the people ``events`` name and firing only their timers."""
        held = hold_people(state, _identifiers(self._engine, events), ())
        return _fire_only(state, held, self._engine.process, events)

    def _tick(self) -> AppendResult | None:
        """Fire every due timer, holding their people."""

        def due(state: StateSql, events: list[Event]) -> list[Event]:
            held = hold_people(state, (), due_profiles(state, self._clock.now()))
            return _fire_only(state, held, self._engine.process, events)

        try:
            return commit(self._writer.get(), [], (), due)
        except Unavailable:
            raise
        except JunctureError as exc:
            log.warning("a tick failed: %s", exc.message)
        except Exception:  # noqa: BLE001 - a due timer that cannot fire: set it aside
            self._engine.repair_timers(lambda p: commit(self._writer.get(), [], (), p))
        return None


def _identifiers(engine: Engine, events: Sequence[Event]) -> list[str]:
    """Every identifier ``events`` carry, as the engine loads them."""
    out: list[str] = []
    for event in events:
        for kind, key in identity.identifiers(event, engine.config.identity):
            if kind == "previous":
                out.extend((f"user_id:{key}", f"anonymous_id:{key}"))
            else:
                out.append(key)
    return out


def _fire_only(
    state: StateSql,
    held: set[str],
    process: Callable[[StateSql, list[Event]], list[Event]],
    events: list[Event],
) -> list[Event]:
    """Run ``process`` with only the due timers of the ``held`` profiles in sight: a timer
    of someone another worker may be applying to waits for a transaction that holds them."""
    due = state.due_timers

    def held_due(now: object, limit: int) -> list[object]:
        return [d for d in due(now, limit) if d.timer.profile_id in held]  # type: ignore[arg-type]

    state.due_timers = held_due  # type: ignore[assignment,method-assign]
    try:
        return process(state, events)
    finally:
        del state.due_timers
