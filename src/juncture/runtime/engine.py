"""The engine at run time: loads the working set of a commit, runs the pure pipeline
(``core.engine``) over its events and due timers in time order, and writes the results,
all inside the writer's transaction."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Protocol

from juncture.core import engine as core
from juncture.core import identity, membership
from juncture.core import segments as seg
from juncture.core.events import Event
from juncture.core.identity import Conflict, IdentityGraph, Merge
from juncture.core.journeys.catalog import Catalog
from juncture.core.journeys.state import Enrollment
from juncture.core.orchestrate import JourneyState, Message
from juncture.core.profile import Profile
from juncture.core.signals import CancelTimer, ScheduleTimer, TimerCommand
from juncture.runtime.clock import Clock
from juncture.runtime.membership import SegmentSource, Tracker
from juncture.store import membership as stored
from juncture.store.segments import Refresh
from juncture.store.state import Due, StateSql

log = logging.getLogger("juncture.engine")
TIMERS_PER_COMMIT = 5000
HISTORY = dt.timedelta(days=8)  # contacts that frequency caps look at (a week, plus a day)


class JourneySource(Protocol):
    """Where the engine gets its journeys, once per commit (must be cheap)."""

    def catalog(self) -> Catalog: ...


class StaticJourneys:
    """A fixed set of journeys (the demo, tests, replay)."""

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog

    def catalog(self) -> Catalog:
        return self._catalog


@dataclass
class _Batch:
    initial: IdentityGraph
    graph: IdentityGraph
    known: dict[str, Profile]
    now: dt.datetime
    out: list[Event] = field(default_factory=list)
    touched: set[str] = field(default_factory=set)
    retired: dict[str, str] = field(default_factory=dict)
    merges: list[Merge] = field(default_factory=list)
    conflicts: list[Conflict] = field(default_factory=list)
    timers: dict[str, ScheduleTimer | None] = field(default_factory=dict)
    journeys: core.Journeys | None = None
    states: dict[str, JourneyState] = field(default_factory=dict)
    enrollments: dict[str, Enrollment] = field(default_factory=dict)
    messages: list[Message] = field(default_factory=list)
    segments: Tracker | None = None  # real-time segment membership (issue 6)

    def apply(self, result: core.Step) -> None:
        if result.graph is not None:
            self.graph = result.graph
        if self.segments is not None:
            self.segments.apply(result)
        for merge in result.merges:
            self.retired[merge.merged] = merge.survivor
            self.known.pop(merge.merged, None)
            self.states.pop(merge.merged, None)  # its enrollments moved to the survivor
            self.touched.discard(merge.merged)
            for old, target in list(self.retired.items()):
                if target == merge.merged:
                    self.retired[old] = merge.survivor
        self.known.update(result.profiles)
        self.touched.update(result.profiles)
        self.out.extend(result.events)
        self.merges.extend(result.merges)
        self.conflicts.extend(result.conflicts)
        for command in result.timers:
            self._timer(command)
        if result.journey_profile is not None and result.journey_state is not None:
            self.states[result.journey_profile] = result.journey_state
        self.enrollments.update((e.id, e) for e in result.enrollments)
        self.messages.extend(result.messages)

    def _timer(self, command: TimerCommand) -> None:
        if isinstance(command, CancelTimer):
            self.timers[command.key] = None
        else:
            self.timers[command.key] = command

    def fired(self, due: ScheduleTimer) -> None:
        current = self.timers.get(due.key)
        if current is None or current.due_at == due.due_at:
            self.timers[due.key] = None


class Engine:
    """The processor a :class:`~juncture.runtime.committer.GroupCommitter` runs in each
    commit. Live mode passes a wall clock, replay and simulation a manual one."""

    def __init__(
        self,
        clock: Clock,
        config: core.EngineConfig | None = None,
        journeys: JourneySource | None = None,
        segments: SegmentSource | None = None,
    ) -> None:
        self.clock = clock
        self.config = config or core.EngineConfig()
        self.journeys = journeys
        self.segments = segments
        self.errors = 0

    def process(self, state: StateSql, events: list[Event]) -> list[Event]:
        now = self.clock.now()
        due = state.due_timers(now, TIMERS_PER_COMMIT)
        named = [identity.identifiers(e, self.config.identity) for e in events]
        batch = self._load(state, events, named, due, now)
        pending = list(due)
        for event, ids in zip(events, named, strict=True):
            while pending and pending[0].timer.due_at <= event.timestamp:
                self._fire(batch, pending.pop(0).timer)
            self._step(batch, event, ids)
        for rest in pending:
            self._fire(batch, rest.timer)
        self._save(state, batch)
        return batch.out

    def _load(
        self,
        state: StateSql,
        events: list[Event],
        named: list[tuple[tuple[str, str], ...]],
        due: list[Due],
        now: dt.datetime,
    ) -> _Batch:
        idents: set[str] = set()
        devices: set[str] = set()
        for ids in named:
            for kind, key in ids:
                if kind == "previous":
                    idents.update((f"user_id:{key}", f"anonymous_id:{key}"))
                    continue
                idents.add(key)
                if kind == identity.DEVICE:
                    devices.add(key)
        graph, known = state.load(idents, devices, {d.timer.profile_id for d in due})
        batch = _Batch(initial=graph, graph=graph, known=known, now=now)
        self._load_journeys(state, batch)
        active = self.segments.segments(state) if self.segments is not None else ()
        if active:  # segments (issue 6): membership and recent events of the working set
            earliest = min([now, *(e.timestamp for e in events), *(d.timer.due_at for d in due)])
            batch.segments = Tracker(active, state, set(known) | set(graph.redirects), earliest)
        return batch

    def _load_journeys(self, state: StateSql, batch: _Batch) -> None:
        catalog = self.journeys.catalog() if self.journeys is not None else None
        if catalog is not None and catalog.versions:
            batch.states = state.load_journeys(list(batch.known), batch.now - HISTORY)
            batch.journeys = core.Journeys(catalog, batch.states)

    def move(
        self,
        state: StateSql,
        segment: seg.Segment,
        members: Collection[str],
        now: dt.datetime,
        only: Collection[str] | None = None,
    ) -> tuple[list[Event], Refresh]:
        """Bring the members table of ``segment`` toward ``members`` (its batch evaluation at
        ``now``) as the real-time path would: each profile whose stored membership differs
        (of ``only``, when given) is decided again here, in the writer's transaction, and its
        ``Segment Entered`` / ``Exited`` event is returned for storing and run through the
        journeys. A profile an event already moved is not moved twice. Returns the events
        and what moved; the size is the stored membership's after the move."""
        before = stored.segment_member_ids(state, segment.id)
        wanted = set(members)
        differ = wanted ^ before  # members to enter or to leave
        candidates = sorted(differ if only is None else differ.intersection(only))
        graph, known = state.load((), (), candidates)
        live = [p for p in candidates if p in known]
        gone = before.intersection(candidates).difference(live)  # erased or merged away
        stored.drop_members(state, segment.id, gone)
        batch = _Batch(initial=graph, graph=graph, known=known, now=now)
        self._load_journeys(state, batch)
        active = self.segments.segments(state) if self.segments is not None else ()
        active = (*(s for s in active if s.id != segment.id), segment)
        tracker = batch.segments = Tracker(active, state, set(live), now)
        timers = stored.timers_due(state, [membership.timer_key(p) for p in live])
        for pid in live:
            batch.apply(
                core.batch_moved(
                    batch.known[pid], segment, now, self.config, batch.journeys,
                    segments=tracker.context, graph=batch.graph,
                    existing_timer=timers.get(membership.timer_key(pid)),
                )
            )  # fmt: skip
        self._save(state, batch)
        inside = {p for p in live if segment.id in tracker.member_of.get(p, ())}
        entered, exited = sorted(inside - before), sorted((before - inside) & set(candidates))
        size = len(before) + len(entered) - len(exited)
        return batch.out, Refresh(size, tuple(entered), tuple(exited))

    def _step(self, batch: _Batch, event: Event, named: tuple[tuple[str, str], ...]) -> None:
        try:
            ctx = batch.segments.context if batch.segments is not None else None
            result = core.step(
                batch.graph,
                batch.known,
                event,
                self.config,
                batch.journeys,
                segments=ctx,
                named=named,
            )
            batch.apply(result)
        except Exception:
            self.errors += 1
            log.exception("engine failed on message %s; stored unprocessed", event.message_id)
            batch.out.append(event)

    def _fire(self, batch: _Batch, timer: ScheduleTimer) -> None:
        batch.fired(timer)
        pid = batch.retired.get(timer.profile_id) or batch.graph.canonical(timer.profile_id)
        current = batch.known.get(pid)
        if current is None:
            return
        try:
            ctx = batch.segments.context if batch.segments is not None else None
            fired = core.fire(
                timer,
                current,
                batch.now,
                self.config,
                batch.journeys,
                graph=batch.graph,
                segments=ctx,
            )
            batch.apply(fired)
        except Exception:
            self.errors += 1
            log.exception("engine failed on a %s timer; dropped", timer.kind)

    def _save(self, state: StateSql, batch: _Batch) -> None:
        state.save_graph(batch.initial, batch.graph)
        state.save_merges(batch.merges, batch.conflicts)
        live = {pid: batch.known[pid] for pid in batch.touched if pid in batch.known}
        state.save_profiles(live, batch.retired, batch.graph, batch.now)
        state.save_timers(batch.timers)
        state.save_enrollments(batch.enrollments.values(), batch.now)
        state.save_messages(batch.messages)
        if batch.segments is not None:
            batch.segments.save(state, batch.retired, batch.now)
