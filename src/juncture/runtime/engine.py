"""The engine at run time: loads the working set of a commit, runs the pure pipeline
(``core.pipeline``) over its events and due timers in time order, and writes the results,
all inside the writer's transaction."""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Protocol

import msgspec

from juncture.core import bounds, identity
from juncture.core import pipeline as core
from juncture.core.events import Event
from juncture.core.identity import Conflict, IdentityGraph, Merge
from juncture.core.journeys.catalog import Catalog
from juncture.core.journeys.machine import RecommendationsNeeded
from juncture.core.journeys.orchestrate import JourneyState, Message
from juncture.core.journeys.spec import RECOMMENDATION_KINDS
from juncture.core.journeys.state import Enrollment
from juncture.core.profile.model import Profile
from juncture.core.segments import conditions as seg
from juncture.core.segments import membership
from juncture.core.signals import CancelTimer, ScheduleTimer, TimerCommand
from juncture.errors import StoreUnavailable
from juncture.runtime import isolation
from juncture.runtime.clock import Clock
from juncture.runtime.membership import SegmentSource, Tracker
from juncture.runtime.unit_of_work import AppendResult, Processor
from juncture.store import membership as stored
from juncture.store.segments import Refresh
from juncture.store.state import Due, StateSql

log = logging.getLogger("juncture.engine")
TIMERS_PER_COMMIT = 5000
HISTORY = dt.timedelta(days=8)  # contacts that frequency caps look at (a week, plus a day)
# How many products of a kind (second) the runtime can recommend to a profile (first).
Recommends = Callable[[Profile, str], int]


@dataclass(frozen=True, slots=True)
class Planned:
    """A batch the engine worked out (:meth:`Engine.plan`), not yet written."""

    engine: Engine
    batch: _Batch

    def save(self, state: StateSql) -> list[Event]:
        self.engine._save(state, self.batch)
        return self.batch.out


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
    segments: Tracker | None = None  # real-time segment membership
    # What conditions asked of the recommender in the current step, by profile and kind.
    counted: dict[str, dict[str, int]] = field(default_factory=dict)

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
        if result.merges:  # (most steps merge, refuse, enroll and send nothing)
            self.merges.extend(result.merges)
        if result.conflicts:
            self.conflicts.extend(result.conflicts)
        for command in result.timers:
            self._timer(command)
        if result.journey_profile is not None and result.journey_state is not None:
            self.states[result.journey_profile] = result.journey_state
        if result.enrollments:
            self.enrollments.update((e.id, e) for e in result.enrollments)
        if result.messages:
            self.messages.extend(result.messages)

    def _timer(self, command: TimerCommand) -> None:
        if isinstance(command, CancelTimer) or not bounds.within_time(command.due_at):
            # A timer outside the time range could never fire in order with the rest, and
            # date arithmetic on it would fail every later commit: it is not kept.
            self.timers[command.key] = None
        else:
            self.timers[command.key] = command

    def fired(self, due: ScheduleTimer) -> None:
        current = self.timers.get(due.key)
        if current is None or current.due_at == due.due_at:
            self.timers[due.key] = None


def _set_aside(
    state: StateSql, _events: list[Event], *, now: dt.datetime, exc: Exception
) -> list[Event]:
    """Delete the first due timer and keep it in the quarantine, ``dead``."""
    for due in state.due_timers(now, 1):
        timer = due.timer
        state.save_timers({timer.key: None})
        payload = {
            "key": timer.key,
            "kind": timer.kind,
            "profileId": timer.profile_id,
            "dueAt": timer.due_at.isoformat(),
        }
        state.add_failed(
            source="engine",
            received_at=now,
            code="timer_failed",
            reason=isolation.reason(exc),
            payload=msgspec.json.encode(payload).decode(),
            status="dead",
            type_hint="timer",
        )
    return []


def _usable(due: list[Due]) -> tuple[list[Due], list[Due]]:
    good = [d for d in due if bounds.within_time(d.timer.due_at)]
    if len(good) == len(due):
        return due, []
    bad = [d for d in due if not bounds.within_time(d.timer.due_at)]
    log.warning("dropped %d stored timers outside %s", len(bad), bounds.time_range())
    return good, bad


class Engine:
    """The processor a :class:`~juncture.runtime.committer.GroupCommitter` runs in each
    commit. Live mode passes a wall clock, replay and simulation a manual one.
    ``recommends`` counts what a journey condition asks of the recommender (the committed
    profile's recommendations); without it (replay, a worker) every count is 0."""

    def __init__(
        self,
        clock: Clock,
        config: core.EngineConfig | None = None,
        journeys: JourneySource | None = None,
        segments: SegmentSource | None = None,
        *,
        skip_failures: bool = False,
        recommends: Recommends | None = None,
        hold_timers: bool = False,
    ) -> None:
        self.clock = clock
        self.recommends = recommends
        self.config = config or core.EngineConfig()
        self.journeys = journeys
        self.segments = segments
        # Live, a failure propagates, so that the committer quarantines the one event that
        # caused it; replay rebuilds from the log, where the event stays, and skips it.
        self.skip_failures = skip_failures
        self.errors = 0
        # ``juncture serve --overdue hold``: no timer fires while this engine runs, not even
        # in the commits that apply events (each commit fires what is due).
        self.hold_timers = hold_timers

    def process(self, state: StateSql, events: list[Event]) -> list[Event]:
        return self._process(state, events, TIMERS_PER_COMMIT)

    def plan(self, state: StateSql, events: list[Event]) -> Planned:
        """:meth:`process` in two parts (``unit_of_work.reapply``'s ``plan``): the reads and
        the work here, from ``state`` read outside the write lock; the writes when the
        result's ``save`` is called in the unit. It reads only; a write would fail."""
        return Planned(self, self._work(state, events, TIMERS_PER_COMMIT))

    def repair_timers(self, run: Callable[[Processor], AppendResult]) -> int:
        """Fire the due timers one transaction each (through ``run``), until none is due;
        a timer whose transaction fails is deleted and kept in the quarantine with status
        ``dead`` and the reason, so that it never holds up another commit. Returns how
        many were set aside."""
        dropped = 0
        for _ in range(TIMERS_PER_COMMIT):
            fired: list[int] = []
            failure = self._fire_one(run, fired)
            if failure is not None:
                run(functools.partial(_set_aside, now=self.clock.now(), exc=failure))
                dropped += 1
            elif not fired[0]:
                break
        if dropped:
            log.warning("set aside %d timers that could not fire", dropped)
        return dropped

    def _fire_one(
        self, run: Callable[[Processor], AppendResult], fired: list[int]
    ) -> Exception | None:
        """Fire the first due timer in a transaction of its own; the failure, if any."""
        try:
            run(lambda state, events: self._process(state, events, 1, fired))
        except StoreUnavailable:
            raise
        except Exception as exc:  # noqa: BLE001 - whatever it is, this timer caused it
            return exc
        return None

    def _process(
        self, state: StateSql, events: list[Event], limit: int, fired: list[int] | None = None
    ) -> list[Event]:
        batch = self._work(state, events, limit, fired)
        self._save(state, batch)
        return batch.out

    def _work(
        self, state: StateSql, events: list[Event], limit: int, fired: list[int] | None = None
    ) -> _Batch:
        """Read the working set of ``events`` and of the timers due now (up to ``limit``),
        then step through them in time order; nothing is written yet."""
        now = self.clock.now()
        due, unusable = ([], []) if self.hold_timers else _usable(state.due_timers(now, limit))
        if fired is not None:
            fired.append(len(due) + len(unusable))
        named = [identity.identifiers(e, self.config.identity) for e in events]
        batch = self._load(state, events, named, due, now)
        for bad in unusable:  # stored before times were bounded: deleted, never fired
            batch.fired(bad.timer)
        pending = list(due)
        for event, ids in zip(events, named, strict=True):
            while pending and pending[0].timer.due_at <= event.timestamp:
                self._fire(batch, pending.pop(0).timer)
            self._step(batch, event, ids)
        for rest in pending:
            self._fire(batch, rest.timer)
        return batch

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
        if active:  # segments: membership and recent events of the working set
            earliest = min([now, *(e.timestamp for e in events), *(d.timer.due_at for d in due)])
            since = self.segments.active_since if self.segments is not None else None
            pids = set(known) | set(graph.redirects)
            batch.segments = Tracker(active, state, pids, earliest, since)
        return batch

    def _load_journeys(self, state: StateSql, batch: _Batch) -> None:
        catalog = self.journeys.catalog() if self.journeys is not None else None
        if catalog is not None and catalog.versions:
            batch.states = state.load_journeys(list(batch.known), batch.now - HISTORY)
            batch.journeys = core.Journeys(catalog, batch.states, batch.counted)

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
            moved = functools.partial(
                core.batch_moved,
                batch.known[pid], segment, now, self.config, batch.journeys,
                segments=tracker.context, graph=batch.graph,
                existing_timer=timers.get(membership.timer_key(pid)),
            )  # fmt: skip
            batch.apply(self._counting(batch, moved))
        self._save(state, batch)
        inside = {p for p in live if segment.id in tracker.member_of.get(p, ())}
        entered, exited = sorted(inside - before), sorted((before - inside) & set(candidates))
        size = len(before) + len(entered) - len(exited)
        return batch.out, Refresh(size, tuple(entered), tuple(exited))

    def _step(self, batch: _Batch, event: Event, named: tuple[tuple[str, str], ...]) -> None:
        try:
            ctx = batch.segments.context if batch.segments is not None else None
            args = (batch.graph, batch.known, event, self.config, batch.journeys)
            try:  # called as it is first: most steps ask for no count
                result = core.step(*args, segments=ctx, named=named)
            except RecommendationsNeeded as asked:
                step = functools.partial(core.step, *args, segments=ctx, named=named)
                result = self._counting(batch, step, asked)
            batch.apply(result)
        except Exception as exc:
            if not self.skip_failures:
                raise
            self.errors += 1
            log.warning("engine failed (%s) on the event of seq %d", type(exc).__name__, event.seq)
            batch.out.append(event)

    def _fire(self, batch: _Batch, timer: ScheduleTimer) -> None:
        batch.fired(timer)
        pid = batch.retired.get(timer.profile_id) or batch.graph.canonical(timer.profile_id)
        current = batch.known.get(pid)
        if current is None:
            return
        try:
            ctx = batch.segments.context if batch.segments is not None else None
            fire = functools.partial(
                core.fire, timer, current, batch.now, self.config, batch.journeys,
                graph=batch.graph, segments=ctx,
            )  # fmt: skip
            batch.apply(self._counting(batch, fire))
        except Exception as exc:
            if not self.skip_failures:
                raise
            self.errors += 1
            log.warning("engine failed (%s) on a %s timer; dropped", type(exc).__name__, timer.kind)

    def _counting(
        self,
        batch: _Batch,
        run: Callable[[], core.Step],
        asked: RecommendationsNeeded | None = None,
    ) -> core.Step:
        """``run``'s step; when a journey condition asks how much can be recommended, the
        count, then the step again with it (pure, so nothing of the first attempt stays).
        ``asked``: what a first attempt the caller made asked. Counts hold for one step:
        the next reads the profile as it then is."""
        try:
            tries = len(RECOMMENDATION_KINDS) + 1
            if asked is not None:
                self._count(batch, asked)
                tries -= 1
            for _ in range(tries):
                try:
                    return run()
                except RecommendationsNeeded as again:
                    self._count(batch, again)
            raise RuntimeError("a condition asked for a kind of recommendation twice")
        finally:
            batch.counted.clear()

    def _count(self, batch: _Batch, asked: RecommendationsNeeded) -> None:
        who, recommends = asked.profile, self.recommends
        found = recommends(who, asked.kind) if recommends and who else 0
        batch.counted.setdefault(asked.profile_id, {})[asked.kind] = found

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
