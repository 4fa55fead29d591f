"""The journey state machine: enrollments move through a journey's graph, event by event.

Pure: given the journeys, a profile's enrollments, its profile snapshot, an event (or a due
timer) and ``now``, :func:`on_event` and :func:`on_timer` return a :class:`Step`: the new and
changed enrollments and the commands for the engine to carry out in the same transaction.

Rules, in the order :func:`on_event` applies them:

1. Each active enrollment runs on the journey *version it entered with*. An event that
   matches an exit criterion ends it (``RecordExit("exit_criteria")``); a goal event within the
   goal window records the goal (``RecordGoal``) and ends it when the goal says ``exit``; an
   awaited event (with the same key) takes the ``on_event`` branch; a reset event (same key)
   re-arms the wait's timer (``ScheduleTimer`` with the same timer key and a later due time).
   A goal or wait that ``settles`` takes an order only when it settles what the enrollment
   is about (:func:`settles`): the order's :class:`~juncture.core.profile.orders.Settlement`
   comes with the event, since the event itself may not name the cart (Segment's
   ``Order Completed`` has no ``cart_id``).
2. Then the *latest* version of each journey may enroll the profile when a trigger matches:
   at most one active enrollment per journey and key (any version), and after an ended one
   only as the re-entry rule allows (``cooldown`` counts from the previous entry).

Held-out enrollments (``holdout``) walk the graph like the others, so goals are measured for
them, but their sends and webhook calls become ``RecordSuppressed("holdout")``.

Ids are deterministic, so that a replay produces the same commands: an enrollment's id is a
hash of journey, profile, key and the entering event's message id; the idempotency key of a
send is ``journey:version:enrollment:node:step`` where ``step`` is the enrollment's step
count when it reached the node (a node visited twice in a loop gets two keys).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from juncture.core.events import Event
from juncture.core.journeys import expr
from juncture.core.journeys import spec as s
from juncture.core.journeys.commands import (
    JOURNEY_TIMER,
    CancelTimer,
    Command,
    RecordExit,
    RecordGoal,
    RecordSuppressed,
    RunAction,
    ScheduleTimer,
    Send,
)
from juncture.core.journeys.state import Enrollment, Step, Waiting, changed, local_zone
from juncture.core.profile.cart import link_ids, product_ids
from juncture.core.profile.model import Profile
from juncture.core.profile.orders import Settlement

__all__ = [
    "Enrollment", "RecommendationsNeeded", "Step", "bucket", "on_event", "on_timer", "react",
    "settles",
]  # fmt: skip

MAX_STEPS: Final = 1000  # validation forbids cycles without a wait; this is the backstop
RECOMMENDATIONS: Final = "recommendations"  # the profile's counts, by kind, when a condition asks


def bucket(*parts: str) -> float:
    """A deterministic number in [0, 1) from ``parts``: splits, holdouts, control groups."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def on_event(
    journeys: Iterable[s.JourneySpec],
    enrollments: Iterable[Enrollment],
    profile: Mapping[str, Any],
    event: Event,
    now: dt.datetime,
    *,
    open_for_entry: Collection[str] | None = None,
    settled: Settlement | None = None,
) -> Step:
    """React to ``event`` for the profile ``profile["id"]``.

    ``journeys`` holds every version still in use; ``enrollments`` holds the profile's active
    enrollments and, for the re-entry rules, at least its latest ended one per journey and key.
    ``open_for_entry``: the journey ids that may enroll (None: all); a paused journey's
    enrollments carry on but it takes no one new. ``settled``: what the event settled, when
    it is an order (:func:`juncture.core.profile.orders.settlement`).
    """
    versions = {(j.id, j.version): j for j in journeys}
    latest: dict[str, s.JourneySpec] = {}
    for j in versions.values():
        if j.id not in latest or j.version > latest[j.id].version:
            latest[j.id] = j
    entering = [
        j
        for j in sorted(latest.values(), key=s.entry_order)
        if open_for_entry is None or j.id in open_for_entry
    ]
    return react(versions, entering, enrollments, profile, event, now=now, settled=settled)


def react(
    versions: Mapping[tuple[str, int], s.JourneySpec],
    entering: Iterable[s.JourneySpec],
    enrollments: Iterable[Enrollment],
    profile: Mapping[str, Any],
    event: Event,
    *,
    now: dt.datetime,
    settled: Settlement | None = None,
) -> Step:
    """:func:`on_event` with the journeys looked up beforehand (once per catalog, not per
    event): ``versions`` by (id, version), ``entering`` the versions that may enroll the
    profile, in the order they try (:func:`spec.entry_order`)."""
    out = _Out()
    current: list[Enrollment] = []
    name = event.display_name
    for before in enrollments:
        after = before
        if before.active:  # first: most of a profile's enrollments have ended
            journey = versions.get((before.journey_id, before.version))
            if journey is not None and name in journey.moved_by:
                after = _react(_Run(journey, profile, now, out, settled), before, event)
                if after != before:
                    out.enrollments.append(after)
        current.append(after)
    for journey in entering:  # most events that may start a journey start none: kept cheap
        if not _kept_out(journey, current, now):
            _maybe_enter(_Run(journey, profile, now, out), current, event)
    return out.step()


def on_timer(
    journey: s.JourneySpec,
    enrollment: Enrollment,
    timer: ScheduleTimer,
    profile: Mapping[str, Any],
    now: dt.datetime,
) -> Step:
    """A timer fell due. A timer that is no longer the enrollment's (stale) changes nothing."""
    if (journey.id, journey.version) != (enrollment.journey_id, enrollment.version):
        raise ValueError(f"enrollment {enrollment.id} is not on {journey.id} v{journey.version}")
    waiting = enrollment.waiting
    if not enrollment.active or waiting != Waiting(timer.key, timer.due_at):
        return Step()
    node = journey.nodes[enrollment.node]
    run = _Run(journey, profile, now, _Out())
    if isinstance(node, s.WaitUntilEvent):
        enrollment = _note(enrollment, node.id, "timeout", waiting=None)
        target = node.on_timeout
    else:
        enrollment = changed(enrollment, waiting=None)
        target = s.successors(node)[0]
    run.out.enrollments.append(_advance(run, enrollment, target))
    return run.out.step()


class _Out:
    def __init__(self) -> None:
        self.enrollments: list[Enrollment] = []
        self.commands: list[Command] = []

    def step(self) -> Step:
        return Step(tuple(self.enrollments), tuple(self.commands))


@dataclass(frozen=True, slots=True)
class _Run:
    """What stays fixed while one journey reacts: the spec, the profile, the time, the output,
    and what the event settled when it is an order."""

    journey: s.JourneySpec
    profile: Mapping[str, Any]
    now: dt.datetime
    out: _Out
    settled: Settlement | None = None

    def scope(self, enrollment: Enrollment | None, event: Mapping[str, Any]) -> dict[str, Any]:
        context: dict[str, Any] = {}
        if enrollment is not None:
            context = {
                "journey": enrollment.journey_id,
                "version": enrollment.version,
                "key": enrollment.key,
                "holdout": enrollment.holdout,
                "branches": dict(enrollment.history),
            }
        return {"profile": self.profile, "event": event, "context": context}


def _event_view(event: Event) -> dict[str, Any]:
    return {
        "name": event.display_name,
        "message_id": event.message_id,
        "timestamp": event.timestamp.isoformat(),
        "properties": dict(event.properties),
    }


def _react(run: _Run, enrollment: Enrollment, event: Event) -> Enrollment:
    view = _event_view(event)
    scope = run.scope(enrollment, view)
    name = event.display_name
    if any(m.matches(name, scope) for m in run.journey.exits):
        return _exit(run, enrollment, "exit_criteria")
    if _goal_reached(run, enrollment, name, scope):
        run.out.commands.append(RecordGoal(*_about(enrollment), at=run.now))
        enrollment = changed(enrollment, goal_reached=True)
        if run.journey.goal is not None and run.journey.goal.exit:
            return _exit(run, enrollment, "goal")
    return _wait_reaction(run, enrollment, scope)


def _wait_reaction(run: _Run, enrollment: Enrollment, scope: Mapping[str, Any]) -> Enrollment:
    """An awaited event takes the ``on_event`` branch; a reset event re-arms the timeout."""
    node = run.journey.nodes[enrollment.node]
    waiting = enrollment.waiting
    if waiting is None or not isinstance(node, s.WaitUntilEvent):
        return enrollment
    name = scope["event"]["name"]
    same_key = _same_key(node.key, enrollment, scope)
    linked = settles(run.settled, enrollment) if node.settles else same_key
    if linked and node.match.matches(name, scope):
        run.out.commands.append(CancelTimer(key=waiting.timer_key))
        moved = _note(enrollment, node.id, "event", waiting=None, event=scope["event"])
        return _advance(run, moved, node.on_event)
    if same_key and node.reset is not None and node.reset.matches(name, scope):
        rearmed = _arm(run, enrollment, node.id, run.now + node.timeout, waiting.timer_key)
        return changed(enrollment, waiting=rearmed)
    return enrollment


def _goal_reached(run: _Run, enrollment: Enrollment, name: str, scope: Mapping[str, Any]) -> bool:
    goal = run.journey.goal
    if goal is None or enrollment.goal_reached or not goal.match.matches(name, scope):
        return False
    if goal.settles and not settles(run.settled, enrollment):
        return False
    if not _same_key(goal.key, enrollment, scope):
        return False
    return goal.within is None or run.now - enrollment.entered_at <= goal.within


def settles(settled: Settlement | None, enrollment: Enrollment) -> bool:
    """Whether an order settles what ``enrollment`` is about, by whatever links them: a cart,
    checkout or order id that the enrollment's event named is the order's own, or one of the
    cart the order emptied; else the order bought a product that event named."""
    if settled is None:
        return False
    props = enrollment.event.get("properties")
    if not isinstance(props, dict):
        return False
    if not settled.ids.isdisjoint(link_ids(props)):
        return True
    return not settled.products.isdisjoint(product_ids(props))


def _same_key(
    path: tuple[str, ...] | None, enrollment: Enrollment, scope: Mapping[str, Any]
) -> bool:
    """Whether the event's value at ``path`` is the enrollment's key (true without keys)."""
    if path is None or enrollment.key is None:
        return True
    value = expr.lookup(scope, path)
    return value is not None and str(value) == enrollment.key


def _maybe_enter(run: _Run, current: list[Enrollment], event: Event) -> None:
    journey = run.journey
    name = event.display_name
    if name not in journey.entered_by:
        return  # cheap: most events trigger none of a journey's entries
    view = _event_view(event)
    scope = run.scope(None, view)
    trigger = next((t for t in journey.triggers if t.match.matches(name, scope)), None)
    if trigger is None:
        return
    key: str | None = None
    if journey.entry.key is not None:
        raw = expr.lookup(scope, journey.entry.key)
        if raw is None:
            return
        key = str(raw)
    if not _may_enter(
        journey.entry, [e for e in current if e.journey_id == journey.id], key, run.now
    ):
        return
    profile_id = str(run.profile["id"])
    enrollment = Enrollment(
        id=_digest(journey.id, profile_id, key or "", event.message_id),
        journey_id=journey.id,
        version=journey.version,
        profile_id=profile_id,
        key=key,
        node=trigger.id,
        entered_at=run.now,
        event=view,
        history=((trigger.id, trigger.kind),),
        holdout=journey.holdout_percent > 0  # a hash only where one may be held out
        and bucket(journey.id, profile_id, "holdout") * 100 < journey.holdout_percent,
    )
    enrollment = _advance(run, enrollment, trigger.next)
    run.out.enrollments.append(enrollment)
    current.append(enrollment)


def _kept_out(journey: s.JourneySpec, current: list[Enrollment], now: dt.datetime) -> bool:
    """Whether the entry rules keep the profile out of ``journey`` whatever the event: an
    enrollment without a key (active, or ended within the rules) does, known before the
    event's view is built and the triggers matched."""
    if journey.entry.key is not None:
        return False
    mine = [e for e in current if e.journey_id == journey.id]
    return not _may_enter(journey.entry, mine, None, now)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:20]


def _may_enter(
    rules: s.EntryRules, previous: list[Enrollment], key: str | None, now: dt.datetime
) -> bool:
    same = [e for e in previous if e.key == key]
    if any(e.active for e in same):
        return False
    if not same or rules.reentry == "always":
        return True
    if rules.reentry == "never" or rules.cooldown is None:
        return False
    return now >= max(e.entered_at for e in same) + rules.cooldown


def _about(enrollment: Enrollment) -> tuple[str, int, str, str]:
    return (enrollment.journey_id, enrollment.version, enrollment.id, enrollment.profile_id)


def _exit(run: _Run, enrollment: Enrollment, reason: str) -> Enrollment:
    return changed(enrollment, **_ending(run, enrollment, reason))


def _ending(run: _Run, enrollment: Enrollment, reason: str) -> dict[str, Any]:
    """The changes that end ``enrollment`` (its commands go out now)."""
    if enrollment.waiting is not None:
        run.out.commands.append(CancelTimer(key=enrollment.waiting.timer_key))
    run.out.commands.append(RecordExit(*_about(enrollment), reason=reason, at=run.now))
    return {"waiting": None, "exited": True, "exit_reason": reason, "exited_at": run.now}


def _note(enrollment: Enrollment, node_id: str, outcome: str, **changes: Any) -> Enrollment:
    """The enrollment with the outcome of a node in its history, and ``changes``: one copy."""
    history = (*enrollment.history, (node_id, outcome))
    return changed(enrollment, history=history, **changes)


def _arm(
    run: _Run, enrollment: Enrollment, node_id: str, due: dt.datetime, key: str | None = None
) -> Waiting:
    """The wait's timer, scheduled (its command goes out now)."""
    timer = ScheduleTimer(
        key=key or f"{enrollment.id}:{node_id}:{len(enrollment.history)}",
        due_at=due,
        kind=JOURNEY_TIMER,
        profile_id=enrollment.profile_id,
    )
    run.out.commands.append(timer)
    return Waiting(timer.key, due)


def _advance(run: _Run, enrollment: Enrollment, node_id: str) -> Enrollment:
    """Walk from ``node_id`` through instant nodes until a wait or the end."""
    target = node_id
    for _ in range(MAX_STEPS):
        node = run.journey.nodes[target]
        changes, outcome, following = _visit(run, enrollment, node)  # reads no .node
        enrollment = _note(enrollment, node.id, outcome, node=node.id, **changes)
        if following is None:
            return enrollment
        target = following
    raise RuntimeError(f"journey {run.journey.id} ran {MAX_STEPS} steps without waiting")


# What a node changes in the enrollment (merged into the copy that notes it: one copy per
# node), the outcome to record and the next node (or None).
_Visit = tuple[dict[str, Any], str, str | None]
_STOPS: Final = (*s.WAITS, s.Exit)


def _visit(run: _Run, enrollment: Enrollment, node: s.AnyNode) -> _Visit:
    """One node: what it changes, the outcome to record and the next node (or None)."""
    if isinstance(node, _STOPS):
        return _stop(run, enrollment, node), "", None
    if isinstance(node, s.Condition):
        scope = run.scope(enrollment, enrollment.event)
        for index, branch in enumerate(node.branches):
            if expr.holds(branch.when, scope) and _recommends(run.profile, branch.recommended):
                return {}, str(index), branch.next
        return {}, "otherwise", node.otherwise
    if isinstance(node, s.Split):
        chosen = _choose(run.journey.id, enrollment.profile_id, node)
        return {}, chosen.name, chosen.next
    run.out.commands.append(_action(run.journey, enrollment, node))
    return {}, "", s.successors(node)[0]


class RecommendationsNeeded(Exception):  # a request to the runtime, not an error
    """A condition needs to know how many products of ``kind`` the runtime can recommend to
    ``profile_id``: the runtime counts them and runs the step again with the count in the
    profile's ``recommendations`` (a mapping of kind to count). The machine keeps nothing
    from the attempt, so running the step again is safe. ``profile``: the profile as the
    step has it, this event included (set by :mod:`~juncture.core.journeys.orchestrate`)."""

    def __init__(self, profile_id: str, kind: str) -> None:
        super().__init__(f"recommendations of {kind} for {profile_id}")
        self.profile_id = profile_id
        self.kind = kind
        self.profile: Profile | None = None


def _recommends(profile: Mapping[str, Any], needs: s.Recommended | None) -> bool:
    """Whether the shopper has ``needs`` to recommend (true when nothing is needed)."""
    if needs is None:
        return True
    counts = profile.get(RECOMMENDATIONS)
    if not isinstance(counts, Mapping) or needs.kind not in counts:
        raise RecommendationsNeeded(str(profile["id"]), needs.kind)
    return int(counts[needs.kind]) >= needs.at_least


def _stop(
    run: _Run,
    enrollment: Enrollment,
    node: s.WaitFor | s.WaitUntilTime | s.WaitUntilEvent | s.Exit,
) -> dict[str, Any]:
    if isinstance(node, s.Exit):
        return _ending(run, enrollment, "completed")
    if isinstance(node, s.WaitFor):
        due = run.now + node.duration
    elif isinstance(node, s.WaitUntilEvent):
        due = run.now + node.timeout
    else:
        due = _next_local(run.now, node, run.profile)
    return {"waiting": _arm(run, enrollment, node.id, due)}


def _choose(journey_id: str, profile_id: str, node: s.Split) -> s.SplitBranch:
    point = bucket(journey_id, profile_id, node.id) * sum(b.weight for b in node.branches)
    for branch in node.branches:
        if point < branch.weight:
            return branch
        point -= branch.weight
    return node.branches[-1]


def _action(journey: s.JourneySpec, enrollment: Enrollment, node: s.AnyNode) -> Command:
    about = _about(enrollment)
    step = len(enrollment.history)
    idem = f"{journey.id}:{journey.version}:{enrollment.id}:{node.id}:{step}"
    if enrollment.holdout and isinstance(node, s.SendMessage | s.CallWebhook):
        return RecordSuppressed(*about, node=node.id, reason="holdout", idempotency_key=idem)
    if isinstance(node, s.SendMessage):
        return Send(
            *about,
            node=node.id,
            idempotency_key=idem,
            channel=node.channel,
            purpose=node.purpose,
            template=node.template,
            inline=node.inline,
            priority=journey.priority,
            context=_payload(enrollment),
            kind=node.kind,
            placement=node.placement,
            data=node.data,
            expires=node.expires,
            window=journey.send_window,
            recommended=node.recommended,
        )
    if isinstance(node, s.Action):
        return RunAction(*about, action=node, idempotency_key=idem, event=enrollment.event)
    raise TypeError(f"node {node.id} is not an action")


def _payload(enrollment: Enrollment) -> Mapping[str, Any]:
    return {
        "event": enrollment.event,
        "key": enrollment.key,
        "branches": dict(enrollment.history),
        "entered_at": enrollment.entered_at,
    }


def _next_local(now: dt.datetime, node: s.WaitUntilTime, profile: Mapping[str, Any]) -> dt.datetime:
    traits = profile.get("traits")
    name = traits.get("timezone") if isinstance(traits, Mapping) else None
    zone = local_zone(name, node.default_tz)
    local = now.astimezone(zone)
    candidate = dt.datetime.combine(local.date(), node.at, tzinfo=zone)
    if candidate <= local:
        candidate = dt.datetime.combine(local.date() + dt.timedelta(days=1), node.at, tzinfo=zone)
    return candidate.astimezone(dt.UTC)
