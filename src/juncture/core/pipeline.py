"""One event through the pure pipeline: identity -> profile -> signals -> stage.

:func:`step` takes the identity graph and the profiles it may touch (a working set the
runtime loads from the store), and an event; it returns what changed and what follows:
the event with its ``profile_id``, derived events (signals, stage changes), timer
commands, merges and refused links. :func:`fire` does the same for a due timer. Nothing
here reads a clock or touches storage: the runtime persists the result in the event's
transaction, and replay or simulation call the very same functions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

import msgspec

from juncture.core import identity, signals, stage
from juncture.core.events import Event
from juncture.core.identity import Conflict, IdentityGraph, Merge
from juncture.core.journeys import dates, orchestrate
from juncture.core.journeys import merge as journey_merge
from juncture.core.journeys.catalog import Catalog
from juncture.core.journeys.orchestrate import JourneyConfig, JourneyState, Message
from juncture.core.journeys.state import Enrollment
from juncture.core.profile import reducer
from juncture.core.profile.merge import merge_profiles
from juncture.core.profile.model import Profile, ProfileConfig
from juncture.core.profile.reducer import DERIVED_SOURCE
from juncture.core.segments import conditions as seg
from juncture.core.segments import membership
from juncture.core.signals import CancelTimer, ScheduleTimer, TimerCommand

STAGE_TIMER: Final = "stage"
DATE_TIMERS: Final = (dates.DATE_TIMER, dates.ANNIVERSARY_TIMER)


class EngineConfig(msgspec.Struct, frozen=True, kw_only=True):
    identity: identity.IdentityConfig = identity.IdentityConfig(
        external_ids=(identity.ExternalId(kind="loyalty_id", keys=("loyalty_id",)),)
    )
    profile: ProfileConfig = ProfileConfig()
    signals: signals.SignalConfig = signals.SignalConfig()
    stage: stage.StageConfig = stage.StageConfig()
    journeys: JourneyConfig = JourneyConfig()


class Journeys(msgspec.Struct, frozen=True):
    """The journeys to run and the journey state of the profiles a step may touch (a
    profile missing from ``states`` has none yet)."""

    catalog: Catalog
    states: Mapping[str, JourneyState]
    # What the runtime counted when a condition asked (machine.RecommendationsNeeded): per
    # profile, how many products of each kind it can recommend.
    recommendations: Mapping[str, Mapping[str, int]] = {}

    def of(self, pid: str) -> JourneyState:
        found = self.states.get(pid)
        return found if found is not None else JourneyState()


class Step(msgspec.Struct, frozen=True, kw_only=True):
    """What one event or timer did. ``graph`` is the new identity graph (None: unchanged);
    ``profiles`` holds every profile it changed; ``retired`` the ids merged away."""

    graph: IdentityGraph | None
    profiles: dict[str, Profile]
    retired: tuple[str, ...] = ()
    events: tuple[Event, ...] = ()
    timers: tuple[TimerCommand, ...] = ()
    merges: tuple[Merge, ...] = ()
    conflicts: tuple[Conflict, ...] = ()
    journey_profile: str | None = None  # whose journey state ``journey_state`` is
    journey_state: JourneyState | None = None
    enrollments: tuple[Enrollment, ...] = ()  # changed enrollments
    messages: tuple[Message, ...] = ()  # outbox rows
    segments: membership.Reaction | None = None  # new segment membership


def step(
    graph: IdentityGraph,
    known: Mapping[str, Profile],
    event: Event,
    config: EngineConfig,
    journeys: Journeys | None = None,
    *,
    segments: membership.Context | None = None,
    named: tuple[tuple[str, str], ...] | None = None,
) -> Step:
    """Apply one stored-to-be event. Derived events (``source == "juncture"``) carry their
    profile already and change no profile. ``named``: the event's identifiers, when the
    caller has computed them already (:func:`identity.identifiers`)."""
    if event.source == DERIVED_SOURCE and event.profile_id is not None:
        return Step(graph=None, profiles={}, events=(event,))
    resolution = identity.resolve(graph, event, config.identity, named)
    pid = resolution.profile_id
    changed: dict[str, Profile] = {}
    merges = resolution.merges
    retired = tuple(m.merged for m in merges) if merges else ()  # the ids merged away
    for merge in merges:
        survivor = changed.get(merge.survivor) or _get(known, merge.survivor)
        merged = changed.pop(merge.merged, None) or _get(known, merge.merged)
        changed[merge.survivor] = merge_profiles(survivor, merged, config.profile)
    before = changed.get(pid) or _get(known, pid)
    after = reducer.reduce(before, event, config.profile)
    changed[pid] = after
    detection = signals.detect(before, after, event, config.signals)
    derived = list(detection.events)
    moved = stage.transition(before, after, event, event.timestamp, config.stage)
    if moved is not None:
        derived.append(moved)
    timers = [*detection.timers, *_stage_timer(after, config)]
    if journeys is not None and (journeys.catalog.date_traits or journeys.catalog.yearly_traits):
        # An imported old event sets the next birthday from now on, not from its own time.
        since = max(event.timestamp, event.received_at)
        once, yearly = journeys.catalog.date_traits, journeys.catalog.yearly_traits
        timers += dates.timers(before, after, once, yearly, since)
    own = _own(event, pid)  # the event as stored: copied once, with its profile
    # -- segments: membership of the profile the event touched --------------------------
    reaction = None
    if segments is not None:
        new = [own, *(_own(e, pid) for e in derived)]
        reaction = membership.on_event(segments, before, after, retired, new=new, cause=event)
    if reaction is not None:
        derived.extend(reaction.events)
        timers.append(reaction.timer)
        # The survivor's timer now covers the merged profiles' windows; theirs would
        # re-evaluate the survivor from an older time and announce moves twice.
        timers += [CancelTimer(key=membership.timer_key(m)) for m in retired]
    # -- end segments ----------------------------------------------------------------------
    events = (own, *[_own(d, pid) for d in derived]) if derived else (own,)
    state = outcome = carried = None
    if journeys is not None and journeys.catalog.versions:
        carried = _carry_journeys(journeys, merges, event.timestamp) if merges else None
        state = (
            carried.state if carried is not None and carried.state_of == pid else journeys.of(pid)
        )
        # Most steps' events are heard by no journey: react would give them back as they are.
        if orchestrate.hears(journeys.catalog, events):
            outcome = orchestrate.react(
                journeys.catalog, state, after, events, config.journeys,
                user_id=_user_id(resolution.graph, pid),
                recommendations=journeys.recommendations.get(pid),
            )  # fmt: skip
    return _with_journeys(
        pid,
        state,
        outcome,
        carried,
        profiles=changed,
        events=events,
        timers=timers,
        segments=reaction,
        graph=resolution.graph,
        retired=retired,
        merges=merges,
        conflicts=resolution.conflicts,
    )


@dataclass
class _Carried:
    """Journey state moved by this step's merges (the survivor's, and what changed)."""

    state_of: str
    state: orchestrate.JourneyState
    enrollments: dict[str, Enrollment]
    timers: list[TimerCommand]


def _carry_journeys(journeys: Journeys, merges: tuple[Merge, ...], now: dt.datetime) -> _Carried:
    """Each merged profile's enrollments and contacts moved into its survivor's (``merges``:
    one at least)."""
    states: dict[str, orchestrate.JourneyState] = {}
    enrollments: dict[str, Enrollment] = {}
    timers: list[TimerCommand] = []
    for merge in merges:
        survivor = states.get(merge.survivor) or journeys.of(merge.survivor)
        merged = states.pop(merge.merged, None) or journeys.of(merge.merged)
        done = journey_merge.absorb(survivor, merged, merge.survivor, now)
        states[merge.survivor] = done.state
        enrollments.update((e.id, e) for e in done.changed)
        timers.extend(done.timers)
    last = merges[-1].survivor
    return _Carried(last, states[last], enrollments, timers)


def _user_id(graph: IdentityGraph | None, pid: str) -> str | None:
    node = graph.nodes.get(pid) if graph is not None else None
    return node.user_ids[0] if node is not None and node.user_ids else None


def _with_journeys(
    pid: str,
    state: JourneyState | None,
    outcome: orchestrate.Outcome | None,
    carried: _Carried | None = None,
    *,
    profiles: dict[str, Profile],
    events: tuple[Event, ...] = (),
    timers: list[TimerCommand],
    segments: membership.Reaction | None = None,
    graph: IdentityGraph | None = None,
    retired: tuple[str, ...] = (),
    merges: tuple[Merge, ...] = (),
    conflicts: tuple[Conflict, ...] = (),
) -> Step:
    """The step, with what journeys did (after what this step's merges moved): ``state``
    is ``pid``'s journey state before they ran (None: no journeys ran), ``outcome`` what
    they did (None: no journey heard the events). ``profiles`` and ``timers`` are the
    caller's own, extended here. The profile counts as changed when it was already (an
    event's profile always is) or when a journey set a trait: the only change journeys
    make to a profile, so a journey that only waited, sent or moved on leaves it unwritten."""
    enrollments = carried.enrollments if carried is not None else None
    messages: tuple[Message, ...] = ()
    if carried is not None:
        timers += carried.timers
    if outcome is not None:
        if pid in profiles or outcome.traits_set:
            profiles[pid] = outcome.profile
        state = outcome.state
        enrollments = {**enrollments, **outcome.enrollments} if enrollments else outcome.enrollments
        if outcome.events:
            events += tuple(_own(e, pid) for e in outcome.events)
        timers += outcome.timers
        messages = tuple(outcome.messages)
    return Step(
        graph=graph,
        profiles=profiles,
        retired=retired,
        events=events,
        timers=tuple(timers),
        merges=merges,
        conflicts=conflicts,
        segments=segments,
        journey_profile=pid if state is not None else None,
        journey_state=state,
        # Most steps change no enrollment: no empty dict made into a tuple for them.
        enrollments=tuple(enrollments.values()) if enrollments else (),
        messages=messages,
    )


def fire(
    timer: ScheduleTimer,
    current: Profile,
    now: dt.datetime,
    config: EngineConfig,
    journeys: Journeys | None = None,
    *,
    graph: IdentityGraph | None = None,
    segments: membership.Context | None = None,
) -> Step:
    """A due timer of ``current`` (the live profile the timer's profile id resolves to);
    ``graph`` gives journeys the profile's user id."""
    pid = current.profile_id
    user_id = _user_id(graph, pid)
    if timer.kind == orchestrate.JOURNEY_TIMER:
        if journeys is None:
            return Step(graph=None, profiles={})
        state = journeys.of(pid)
        outcome = orchestrate.on_timer(
            journeys.catalog, state, current, timer, config.journeys,
            user_id=user_id, recommendations=journeys.recommendations.get(pid),
        )  # fmt: skip
        return _with_journeys(pid, state, outcome, profiles={}, timers=[])
    reaction = None
    follow: list[TimerCommand] = []  # what a fired timer arms next (stage, yearly dates)
    if timer.kind == membership.SEGMENT_TIMER:  # segments: a window slid
        if segments is None or timer.key != membership.timer_key(pid):
            return Step(graph=None, profiles={})  # none, or a merged profile's (stale)
        reaction = membership.on_timer(segments, current, timer, now)
        events = list(reaction.events)
    elif timer.kind == STAGE_TIMER:
        events = _stage_moved(current, timer, now, config)
        if events:  # the next move by time, if any (decision -> lapsed after loyalty)
            follow.extend(_stage_timer(current, config, since=timer.due_at))
        if events and segments is not None:  # segments: the stage moved
            reaction = membership.on_timer(segments, current, timer, now)
            events.extend(reaction.events)
    elif timer.kind in DATE_TIMERS:
        yearly = journeys.catalog.yearly_traits if journeys is not None else frozenset()
        events, rearmed = dates.reached(current, timer, now, yearly)
        follow.extend(rearmed)
    else:
        due = msgspec.structs.replace(timer, profile_id=pid)
        events = signals.fire_timer(current, due, now, config.signals)
    # A stage moved by time is a change of the stored profile (its ``stage`` column) too.
    moved = timer.kind == STAGE_TIMER and bool(events)
    if reaction is not None:
        follow.append(reaction.timer)
    return _journeys_react(
        current,
        config,
        journeys,
        user_id,
        profiles={pid: current} if moved else {},
        events=tuple(_own(e, pid) for e in events),
        timers=follow,
        segments=reaction,
    )


def batch_moved(
    current: Profile,
    segment: seg.Segment,
    now: dt.datetime,
    config: EngineConfig,
    journeys: Journeys | None,
    *,
    segments: membership.Context,
    graph: IdentityGraph | None = None,
    existing_timer: dt.datetime | None = None,
) -> Step:
    """A batch evaluation of ``segment`` at ``now`` found the stored membership of
    ``current`` out of date: the membership decided as in real time, the ``Segment
    Entered``/``Exited`` event, and what journeys do with it, exactly as after an event."""
    reaction = membership.on_batch(segments, current, segment, now, existing=existing_timer)
    pid = current.profile_id
    return _journeys_react(
        current,
        config,
        journeys,
        _user_id(graph, pid),
        profiles={},
        events=tuple(_own(e, pid) for e in reaction.events),
        timers=[reaction.timer],
        segments=reaction,
    )


def _journeys_react(
    current: Profile,
    config: EngineConfig,
    journeys: Journeys | None,
    user_id: str | None,
    *,
    profiles: dict[str, Profile],
    events: tuple[Event, ...],
    timers: list[TimerCommand],
    segments: membership.Reaction | None,
) -> Step:
    """The step of ``current``'s ``events`` (a timer's, a batch's), with what journeys do
    with them (triggers, waits, exits)."""
    if journeys is None or not journeys.catalog.versions or not events:
        return Step(
            graph=None, profiles=profiles, events=events, timers=tuple(timers), segments=segments
        )
    pid = current.profile_id
    state = journeys.of(pid)
    outcome = orchestrate.react(
        journeys.catalog, state, current, events, config.journeys,
        user_id=user_id, recommendations=journeys.recommendations.get(pid),
    )  # fmt: skip
    return _with_journeys(
        pid, state, outcome, profiles=profiles, events=events, timers=timers, segments=segments
    )


def _get(known: Mapping[str, Profile], pid: str) -> Profile:
    found = known.get(pid)
    return found if found is not None else Profile(profile_id=pid)


def _own(event: Event, pid: str) -> Event:
    return event if event.profile_id == pid else msgspec.structs.replace(event, profile_id=pid)


def _stage_timer(
    after: Profile, config: EngineConfig, since: dt.datetime | None = None
) -> tuple[TimerCommand, ...]:
    """The timer of the profile's next stage move by time after ``since`` (default: its
    last activity). None needed when there is none: a timer left over does not fire."""
    start = since if since is not None else after.last_seen
    due = stage.next_change(after, start, config.stage) if start is not None else None
    if due is None:
        return ()
    key = f"{STAGE_TIMER}:{after.profile_id}"
    return (ScheduleTimer(key=key, due_at=due, kind=STAGE_TIMER, profile_id=after.profile_id),)


def _stage_moved(
    current: Profile, timer: ScheduleTimer, now: dt.datetime, config: EngineConfig
) -> list[Event]:
    """``Journey Stage Changed`` stamped with the timer's moment, if time moves the stage
    exactly then (activity since moved the moment: a newer timer stands)."""
    just_before = timer.due_at - dt.timedelta(microseconds=1)
    if now < timer.due_at or stage.next_change(current, just_before, config.stage) != timer.due_at:
        return []
    moved = stage.changed(current, just_before, timer.due_at, config.stage)
    if moved is None:
        return []
    old, new = moved
    return [
        Event(
            source=DERIVED_SOURCE,
            message_id=signals.signal_id(
                f"{current.profile_id}@{timer.due_at.isoformat()}", stage.STAGE_CHANGED
            ),
            type="track",
            event=stage.STAGE_CHANGED,
            timestamp=timer.due_at,
            received_at=now,
            profile_id=current.profile_id,
            properties={"profile_id": current.profile_id, "from": old.value, "to": new.value},
        )
    ]
