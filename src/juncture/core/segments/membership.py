"""Real-time segment membership of one profile, decided purely.

After each event (and each due segment timer) :func:`react` evaluates the active segments
for the profile the event touched, compares with the segments it was in, and returns:

- ``Segment Entered`` / ``Segment Exited`` derived events (properties ``segment_id``,
  ``segment_name``), stamped with the evaluation time, for journeys to trigger on;
- the new set of segment ids, for the runtime to store (``segment_members``);
- one timer per profile (kind :data:`SEGMENT_TIMER`) at the first moment time alone can
  change an answer (an event sliding out of a window, a time fact crossing a threshold),
  or its cancellation: windows are handled by timers, never by polling.

The evaluation time is the event's timestamp (event time), so replay and simulation give
the same memberships as live traffic, and the batch evaluation of ``store/segments.py`` at
any checkpoint agrees with what this module kept.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

import msgspec

from juncture.core.events import Event
from juncture.core.journeys.spec import SEGMENT_ENTERED, SEGMENT_EXITED
from juncture.core.profile.model import Profile
from juncture.core.profile.reducer import DERIVED_SOURCE
from juncture.core.segments import conditions as seg
from juncture.core.segments import index, timing
from juncture.core.segments.hits import HitMemo
from juncture.core.signals import CancelTimer, ScheduleTimer, TimerCommand, signal_id

SEGMENT_TIMER: Final = "segment"
_MAX_CATCH_UP: Final = 1000


class Context(msgspec.Struct, frozen=True):
    """The active segments and, per profile of the working set, the segments it is in, its
    events inside the longest window (``lookback``) and its segment timer if set in this
    batch."""

    segments: tuple[seg.Segment, ...]
    member_of: Mapping[str, frozenset[str]]
    behaviour: Mapping[str, Sequence[seg.BehaviourEvent]]
    pending: Mapping[str, dt.datetime]  # segment timers set in this batch, by profile
    # For evaluating only the segments an event can move (:func:`on_event`): the segment
    # timers stored before this batch, by profile, and when the newest active definition
    # took effect (None: unknown, so every event evaluates every segment).
    scheduled: Mapping[str, dt.datetime] = {}
    active_since: dt.datetime | None = None
    # The behaviour leaves matched so far per profile (None: match every event each time).
    memo: HitMemo | None = None
    # ``index_of(segments)``, when the caller keeps one (None: built at each event).
    index: index.Index | None = None

    @property
    def lookback(self) -> dt.timedelta:
        return max((s.lookback for s in self.segments), default=dt.timedelta(0))


class Reaction(msgspec.Struct, frozen=True):
    profile_id: str
    member_of: frozenset[str]
    events: tuple[Event, ...]
    timer: TimerCommand


def behaviour_of(events: Iterable[Event]) -> list[seg.BehaviourEvent]:
    """Track events as the segment conditions read them."""
    return [
        seg.BehaviourEvent(e.event, e.timestamp, e.properties)
        for e in events
        if e.type == "track" and e.event
    ]


def timer_key(profile_id: str) -> str:
    return f"{SEGMENT_TIMER}:{profile_id}"


def on_event(
    ctx: Context,
    before: Profile,
    after: Profile,
    merged: Sequence[str],
    *,
    new: Sequence[Event],
    cause: Event,
) -> Reaction | None:
    """Membership after ``cause`` (with ``new``: the events this step adds, the cause
    included), for the profile it touched; ``merged``: profiles merged into it just now.
    Changes that time alone made before the event (a window timer of this batch that has
    not fired yet) are caught up first, from the profile as it was."""
    if not ctx.segments:
        return None
    pid = after.profile_id
    stored = ctx.behaviour.get(pid, ())
    member_of = ctx.member_of.get(pid, frozenset())
    earlier: tuple[Event, ...] = ()
    due = ctx.pending.get(pid)
    if due is not None and due < cause.timestamp:
        caught = _catch_up(
            ctx, before, member_of, _with_merged(ctx, stored, merged), start=due,
            until=cause.timestamp, strict=True,
        )  # fmt: skip
        member_of, earlier = caught.member_of, caught.events
    now = cause.timestamp
    facts: dict[str, Any] = {}  # of ``after`` at ``now``, as they are read
    indexed, standing = (False, None) if merged or earlier else _standing(ctx, before, pid, now)
    segments = _affected(ctx, member_of, before, after, new, now=now, facts=facts, indexed=indexed)
    if not segments:  # none this event can move, or none that can hold after it
        if not earlier:  # memberships stand; a timer left finds nothing when it fires
            return None
        return Reaction(pid, member_of, earlier, CancelTimer(key=timer_key(pid)))
    added = behaviour_of(new)
    hits: seg.Hits | None = None
    behaviour: Sequence[seg.BehaviourEvent] = ()
    if ctx.memo is not None and not merged:  # matched incrementally: the events not read again
        hits = ctx.memo.hits(pid, stored, added)
    else:
        behaviour = (*_with_merged(ctx, stored, merged), *added)
    facts = facts_read(segments, after, now, facts)
    partial = indexed and len(segments) < len(ctx.segments)
    result = react(
        segments, after, member_of, behaviour, now, cause=cause.message_id, facts=facts,
        hits=hits, before=standing if partial else None,
    )  # fmt: skip
    timer = result.timer
    if partial:
        timer = _sooner(timer, standing, pid)
    # (not indexed: those not evaluated are false and stay false by time; no timer of theirs)
    if earlier or timer is not result.timer:
        return Reaction(pid, result.member_of, (*earlier, *result.events), timer)
    return result


def _with_merged(
    ctx: Context, stored: Sequence[seg.BehaviourEvent], merged: Sequence[str]
) -> Sequence[seg.BehaviourEvent]:
    """The profile's stored events followed by those of the profiles merged into it."""
    if not merged:
        return stored
    return [*stored, *(e for other in merged for e in ctx.behaviour.get(other, ()))]


def _standing(
    ctx: Context, before: Profile, pid: str, now: dt.datetime
) -> tuple[bool, dt.datetime | None]:
    """Whether the memberships of ``before`` are those of every active segment at ``now``
    apart from what this event changes, so that only the segments it can move need
    evaluating: the profile was evaluated after the newest definition took effect (its
    previous event came after), and time alone has moved nothing since (its segment timer,
    if any, is still to come). Answers whether that holds, and the timer's due time (None:
    no timer)."""
    since = ctx.active_since
    if since is None or before.last_seen is None or before.last_seen < since:
        return False, None
    due = ctx.pending[pid] if pid in ctx.pending else ctx.scheduled.get(pid)
    if due is not None and due <= now:
        return False, None
    return True, due


def _affected(
    ctx: Context,
    member_of: frozenset[str],
    before: Profile,
    after: Profile,
    new: Sequence[Event],
    *,
    now: dt.datetime,
    facts: dict[str, Any],
    indexed: bool,
) -> tuple[seg.Segment, ...]:
    """The segments to evaluate: with ``indexed`` (the stored memberships are those of
    ``before`` at ``now``: :func:`_standing`) those the event can move, else all but those
    that cannot hold after it (``index.Index``). Each fact is computed once, and only when
    asked (those of ``after`` go into ``facts``)."""
    found = ctx.index if ctx.index is not None else index_of(ctx.segments)
    change = index.Change(before, after, now, facts, found.fields)
    if not indexed:
        return tuple(ctx.segments[i] for i in found.possible(member_of, change))
    added = [(e.event, e.properties) for e in new if e.type == "track" and e.event]
    return tuple(ctx.segments[i] for i in found.moving(member_of, change, added))


def index_of(segments: Sequence[seg.Segment]) -> index.Index:
    """The index of real-time evaluation over ``segments`` (``Context.index``)."""
    return index.Index([(s.id, s.watch) for s in segments])


def facts_read(
    segments: Iterable[seg.Segment], profile: Profile, now: dt.datetime, known: dict[str, Any]
) -> dict[str, Any]:
    """``known`` with every fact of ``profile`` at ``now`` that ``segments`` read added
    (``facts.facts_of``, restricted to what is read: an event evaluates a few
    segments, which read a few facts)."""
    for s in segments:
        for key in s.watch.facts:
            if key not in known:
                known[key] = seg.fact_of(profile, key, now)
    return known


def _sooner(timer: TimerCommand, standing: dt.datetime | None, pid: str) -> TimerCommand:
    """The profile's timer when only some segments were evaluated: the sooner of theirs and
    the one standing for the rest (which, if it was theirs, fires early and finds nothing)."""
    due = timer.due_at if isinstance(timer, ScheduleTimer) else None
    if standing is not None and (due is None or standing < due):
        due = standing
    if due is None:
        return CancelTimer(key=timer_key(pid))
    return ScheduleTimer(key=timer_key(pid), due_at=due, kind=SEGMENT_TIMER, profile_id=pid)


def on_timer(ctx: Context, profile: Profile, timer: ScheduleTimer, now: dt.datetime) -> Reaction:
    """Membership when a segment timer falls due: evaluated at its due time, then at every
    later change up to ``now``, so that one tick catches up however late it comes."""
    pid = profile.profile_id
    behaviour = ctx.behaviour.get(pid, ())
    member_of = ctx.member_of.get(pid, frozenset())
    return _catch_up(
        ctx, profile, member_of, behaviour, start=timer.due_at, until=now, strict=False
    )


def _catch_up(
    ctx: Context,
    profile: Profile,
    member_of: frozenset[str],
    behaviour: Sequence[seg.BehaviourEvent],
    *,
    start: dt.datetime,
    until: dt.datetime,
    strict: bool,
) -> Reaction:
    events: list[Event] = []
    at: dt.datetime | None = start
    result = None
    for _ in range(_MAX_CATCH_UP):
        if at is None or at > until or (strict and at == until):
            break
        cause = f"{timer_key(profile.profile_id)}@{at.isoformat()}"
        result = react(ctx.segments, profile, member_of, behaviour, at, cause=cause)
        member_of = result.member_of
        events.extend(result.events)
        at = result.timer.due_at if isinstance(result.timer, ScheduleTimer) else None
    if result is None:
        timer = ScheduleTimer(
            key=timer_key(profile.profile_id), due_at=start, kind=SEGMENT_TIMER,
            profile_id=profile.profile_id,
        )  # fmt: skip
        return Reaction(profile.profile_id, member_of, (), timer)
    return msgspec.structs.replace(result, events=tuple(events))


def react(
    segments: Sequence[seg.Segment],
    profile: Profile,
    member_of: frozenset[str],
    behaviour: Sequence[seg.BehaviourEvent],
    now: dt.datetime,
    *,
    cause: str,
    facts: Mapping[str, Any] | None = None,
    hits: seg.Hits | None = None,
    before: dt.datetime | None = None,
) -> Reaction:
    """Membership of ``profile`` at ``now`` in ``segments`` (memberships of other segments
    are kept as they are); ``cause`` (a message id, or the timer) makes the derived events'
    message ids unique and repeatable; ``facts``: :func:`conditions.facts_of` of ``profile``
    at ``now`` when the caller has them; ``hits``: the behaviour leaves of every segment
    matched in ``behaviour`` (:class:`~juncture.core.segments.hits.HitMemo`), when the
    caller has them; ``before``: a timer the caller keeps anyway when it is sooner (then
    the timer returned is only searched up to it, and is a cancellation when none of these
    segments changes by time before it)."""
    pid = profile.profile_id
    if facts is None:
        facts = facts_read(segments, profile, now, {})
    if hits is None:
        named = seg.group_by_name(behaviour)
        hits = {k: v for s in segments for k, v in seg.hits_of(s, behaviour, named).items()}
    inside: set[str] = set()
    events = []
    for s in segments:
        holds = s.test(facts, hits, now)
        if holds:
            inside.add(s.id)
        if (s.id in member_of) != holds:
            events.append(
                _derived(s, SEGMENT_ENTERED if holds else SEGMENT_EXITED, pid, now, cause)
            )
    if events:  # memberships of segments not evaluated (deleted ones too) stay
        kept = frozenset(inside.union(member_of.difference(s.id for s in segments)))
    else:
        kept = member_of
    timer = _timer(segments, facts, behaviour, now, pid, hits=hits, inside=inside, until=before)
    return Reaction(pid, kept, tuple(events), timer)


def on_batch(
    ctx: Context,
    profile: Profile,
    segment: seg.Segment,
    now: dt.datetime,
    *,
    existing: dt.datetime | None = None,
) -> Reaction:
    """A batch evaluation of ``segment`` found the stored membership of ``profile`` out of
    date at ``now``: its membership there as the real-time path decides it (so a profile that
    an event changed since the batch query ran is not moved twice), the derived event if it
    moved, and the profile's segment timer over every active segment. ``existing``: the due
    time of the profile's stored segment timer; a new timer never postpones it, so a window
    that slid before ``now`` is still caught up by that timer."""
    pid = profile.profile_id
    behaviour = ctx.behaviour.get(pid, ())
    member_of = ctx.member_of.get(pid, frozenset())
    moved = react(
        (segment,), profile, member_of, behaviour, now, cause=f"batch:{pid}@{now.isoformat()}"
    )
    active = (*(s for s in ctx.segments if s.id != segment.id), segment)
    timer = _timer(active, facts_read(active, profile, now, {}), behaviour, now, pid)
    if existing is not None and (isinstance(timer, CancelTimer) or existing < timer.due_at):
        timer = ScheduleTimer(
            key=timer_key(pid), due_at=existing, kind=SEGMENT_TIMER, profile_id=pid
        )
    return msgspec.structs.replace(moved, timer=timer)


def _timer(
    segments: Sequence[seg.Segment],
    facts: Mapping[str, Any],
    behaviour: Sequence[seg.BehaviourEvent],
    now: dt.datetime,
    pid: str,
    *,
    hits: seg.Hits | None = None,
    inside: set[str] | None = None,
    until: dt.datetime | None = None,
) -> TimerCommand:
    """The profile's one segment timer: the first moment time alone changes an answer
    (each segment is only searched up to the earliest moment found so far, or ``until``
    when the caller keeps a timer then anyway: a cancellation if none comes sooner)."""
    due: dt.datetime | None = None
    for s in segments:
        found = timing.changes_at(
            s, facts, behaviour, now, hits=hits, before=due if due is not None else until,
            current=(s.id in inside) if inside is not None else None,
        )  # fmt: skip
        if found is not None and (due is None or found < due):
            due = found
    if due is None:
        return CancelTimer(key=timer_key(pid))
    return ScheduleTimer(key=timer_key(pid), due_at=due, kind=SEGMENT_TIMER, profile_id=pid)


def _derived(segment: seg.Segment, name: str, pid: str, now: dt.datetime, cause: str) -> Event:
    return Event(
        source=DERIVED_SOURCE,
        message_id=signal_id(f"{cause}/{segment.id}", name),
        type="track",
        event=name,
        timestamp=now,
        received_at=now,
        profile_id=pid,
        properties={"segment_id": segment.id, "segment_name": segment.name},
    )
