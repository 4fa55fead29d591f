"""Journeys inside the engine's step: enrollments move, sends are arbitrated into messages.

For one profile and the events of one step (the client event and what it derived), or for one
due journey timer, :func:`react` and :func:`on_timer` run the journey machine
(:mod:`juncture.core.journeys.machine`), carry out its commands and return what the runtime
writes in the same transaction: changed enrollments, outbox messages (``pending``,
``deferred`` by quiet hours to a later ``next_attempt_at``, or ``suppressed`` with a
reason), engine timers for journey waits, derived events (``emit_event`` actions) and the
profile with traits set by journeys. The messages are built by
:mod:`~juncture.core.journeys.outgoing`, which also holds their type (:class:`Message`,
re-exported here), and conditions read the profile through
:mod:`~juncture.core.journeys.profile_view`.

Time is the time of the event (or the timer's due time), never a clock: the same journeys run
live, in replay and in accelerated simulation, and a replay produces the same idempotency
keys, so the outbox drops what it already holds.

Events that reach the engine long after they happened (a history import, a client that was
offline for days) move existing enrollments but start no new ones: ``EngineConfig.entry_lag``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

import msgspec

from juncture.core import channels, signals
from juncture.core.collection import SHARING
from juncture.core.events import Event
from juncture.core.journeys import arbitration, machine, outgoing, profile_view
from juncture.core.journeys import spec as s
from juncture.core.journeys.arbitration import ContactHistory, Policy
from juncture.core.journeys.catalog import Catalog
from juncture.core.journeys.commands import (
    JOURNEY_TIMER,
    Command,
    RecordSuppressed,
    RunAction,
    Send,
)
from juncture.core.journeys.outgoing import Message
from juncture.core.journeys.state import Enrollment
from juncture.core.journeys.state import Step as MachineStep
from juncture.core.profile import orders
from juncture.core.profile.consent import consent_for
from juncture.core.profile.model import Profile
from juncture.core.profile.reducer import DERIVED_SOURCE

TIMER_PREFIX: Final = "j:"
MAX_EMITS: Final = 20  # emit_event chains per step: validation cannot see cross-journey loops


@dataclass(frozen=True, slots=True)
class JourneyConfig:
    """Arbitration policy, and how late an event may arrive and still start a journey."""

    policy: Policy = field(default_factory=Policy)
    entry_lag: dt.timedelta = dt.timedelta(days=1)


@dataclass(frozen=True, slots=True)
class JourneyState:
    """A profile's journey state as loaded: its enrollments (active and ended) and recent
    marketing contacts."""

    enrollments: tuple[Enrollment, ...] = ()
    history: ContactHistory = field(default_factory=ContactHistory)

    def with_enrollments(self, changed: Iterable[Enrollment]) -> JourneyState:
        by_id = {e.id: e for e in self.enrollments}
        for e in changed:
            by_id[e.id] = e
        return JourneyState(tuple(by_id.values()), self.history)


@dataclass
class Outcome:
    """What journeys did in one step."""

    profile: Profile
    state: JourneyState
    enrollments: dict[str, Enrollment] = field(default_factory=dict)
    messages: list[Message] = field(default_factory=list)
    timers: list[signals.TimerCommand] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    traits_set: bool = False
    user_id: str | None = None


def timer_key(key: str) -> str:
    return f"{TIMER_PREFIX}{key}"


def enrollment_of(engine_timer_key: str) -> str:
    """The enrollment id in an engine timer key (journey timer keys start with it)."""
    return engine_timer_key.removeprefix(TIMER_PREFIX).split(":", 1)[0]


def hears(catalog: Catalog, events: Sequence[Event]) -> bool:
    """Whether any journey of ``catalog`` listens to one of ``events`` at all: when none
    does, :func:`react` changes nothing."""
    listens = catalog.listens
    for event in events:  # noqa: SIM110 - a loop: any() of a generator costs more
        if event.display_name in listens:
            return True
    return False


def react(
    catalog: Catalog,
    state: JourneyState,
    current: Profile,
    events: Sequence[Event],
    config: JourneyConfig,
    *,
    user_id: str | None = None,
    recommendations: Mapping[str, int] | None = None,
) -> Outcome:
    """Journeys for ``events``, in order (the client event first, then what it derived).
    ``user_id``: the profile's user id, for recipients (push and webhook providers);
    ``recommendations``: the counts the runtime made when a condition asked (raises
    :class:`machine.RecommendationsNeeded` when one asks for a kind not counted)."""
    out = Outcome(profile=current, state=state, user_id=user_id)
    if not catalog.versions:
        return out
    queue = list(events)
    emitted = 0
    seen: profile_view.ProfileView | None = None
    while queue:
        event = queue.pop(0)
        now = event.timestamp
        name = event.display_name
        if name not in catalog.listens:
            continue  # no journey reacts to it: the common case, kept cheap
        late = event.received_at - now > config.entry_lag
        entering = () if late else catalog.starters.get(name, ())
        if not entering and not any(e.active for e in out.state.enrollments):
            continue
        if seen is None or seen.profile is not out.profile or seen.now != now:
            seen = profile_view.ProfileView(out.profile, now, recommendations)
        settled = orders.settlement(out.profile, event)
        try:  # not a context manager: one costs more than the rest of most steps
            step = machine.react(
                catalog.by_version, entering, out.state.enrollments, seen, event,
                now=now, settled=settled,
            )  # fmt: skip
        except machine.RecommendationsNeeded as asked:  # it carries the profile it is about
            asked.profile = out.profile
            raise
        if not step.enrollments and not step.commands:
            continue  # the event moved nothing (most that reach the machine)
        new_events = _apply(out, step, now, config.policy)
        emitted += len(new_events)
        if emitted <= MAX_EMITS:
            queue.extend(new_events)
    return out


def on_timer(
    catalog: Catalog,
    state: JourneyState,
    current: Profile,
    due: signals.ScheduleTimer,
    config: JourneyConfig,
    *,
    user_id: str | None = None,
    recommendations: Mapping[str, int] | None = None,
) -> Outcome:
    """A journey wait fell due. A stale timer (the enrollment moved on) changes nothing.
    ``user_id`` and ``recommendations`` as for :func:`react`."""
    out = Outcome(profile=current, state=state, user_id=user_id)
    engine_key, due_at = due.key, due.due_at
    wanted = enrollment_of(engine_key)
    enrollment = next((e for e in state.enrollments if e.id == wanted), None)
    if enrollment is None:
        return out
    journey = catalog.by_version.get((enrollment.journey_id, enrollment.version))
    if journey is None:  # archived: its enrollments stop where they are
        return out
    timer = msgspec.structs.replace(due, key=engine_key.removeprefix(TIMER_PREFIX))
    seen = profile_view.ProfileView(current, due_at, recommendations)
    try:
        step = machine.on_timer(journey, enrollment, timer, seen, due_at)
    except machine.RecommendationsNeeded as asked:
        asked.profile = current
        raise
    emitted = _apply(out, step, due_at, config.policy)
    if emitted:  # events an action emitted run through the journeys like any other
        more = react(
            catalog, out.state, out.profile, emitted, config, user_id=user_id,
            recommendations=recommendations,
        )  # fmt: skip
        _merge(out, more)
    return out


def _merge(out: Outcome, more: Outcome) -> None:
    out.profile, out.state = more.profile, more.state
    out.traits_set |= more.traits_set
    out.enrollments.update(more.enrollments)
    out.messages.extend(more.messages)
    out.timers.extend(more.timers)
    out.events.extend(more.events)


def _apply(out: Outcome, step: MachineStep, now: dt.datetime, policy: Policy) -> list[Event]:
    """Carry out one machine step; returns the events its actions emitted."""
    if step.enrollments:
        out.state = out.state.with_enrollments(step.enrollments)
        out.enrollments.update((e.id, e) for e in step.enrollments)
    sends: list[Send] = []
    emitted: list[Event] = []
    for command in step.commands:
        emitted.extend(_command(out, command, now, sends))
    if sends:
        _arbitrate(out, sends, now, policy)
    out.events.extend(emitted)
    return emitted


def _command(out: Outcome, command: Command, now: dt.datetime, sends: list[Send]) -> list[Event]:
    pid = out.profile.profile_id
    if isinstance(command, signals.ScheduleTimer):  # the machine's key, in the engine's
        out.timers.append(
            msgspec.structs.replace(command, key=timer_key(command.key), profile_id=pid)
        )
    elif isinstance(command, signals.CancelTimer):
        out.timers.append(signals.CancelTimer(key=timer_key(command.key)))
    elif isinstance(command, Send):
        sends.append(command)
    elif isinstance(command, RecordSuppressed):
        out.messages.append(outgoing.suppressed(out.profile, command, now))
    elif isinstance(command, RunAction):
        return _run(out, command, now)
    # RecordGoal and RecordExit live in the enrollment itself (goal_reached, exit_reason).
    return []


def _run(out: Outcome, command: RunAction, now: dt.datetime) -> list[Event]:
    """An action node, as the journey defined it; returns the event it emitted, if any."""
    action = command.action
    if isinstance(action, s.CallWebhook):
        out.messages.append(outgoing.webhook(out.profile, command, action, now, out.user_id))
    elif isinstance(action, s.SetTrait):
        out.profile = _set_trait(out.profile, action, now)
        out.traits_set = True
    else:
        return [_emitted(out.profile.profile_id, command, action, now)]
    return []


def _arbitrate(out: Outcome, sends: list[Send], now: dt.datetime, policy: Policy) -> None:
    p = out.profile
    reachable: list[Send] = []
    messages: list[Message] = []  # each reachable send's message, built once
    for send in sends:  # no address on the channel: recorded, never sent
        address = channels.RECIPIENTS.get(send.channel)
        message = outgoing.message(p, send, now, out.user_id)
        if address is not None and message.payload.get(address) is None:
            reason = f"no_recipient:{send.channel}"
            out.messages.append(outgoing.changed(message, status="suppressed", reason=reason))
        else:
            reachable.append(send)
            messages.append(message)
    sends = reachable
    if not sends:
        return
    consent: dict[str, bool] = {}
    for send in sends:
        granted = consent_for(p, send.channel, send.purpose)
        if _shares(send) and consent_for(p, "*", SHARING) is False:
            granted = False  # a marketing webhook hands the person's data to a third party
        if granted is not None:
            consent[f"{send.channel}:{send.purpose}"] = granted
    decisions = arbitration.arbitrate(
        sends,
        out.state.history,
        policy,
        consent=consent,
        timezone=outgoing.text(p.traits.get("timezone")),
        now=now,
    )
    history = out.state.history
    for decision, message in zip(decisions, messages, strict=True):
        decided = _decided(message, decision, now)
        if decided.next_attempt_at is not None:  # it leaves: caps count it from then
            history = history.plus(decision.send, decided.next_attempt_at)
        out.messages.append(decided)
    out.state = JourneyState(out.state.enrollments, history)


def _decided(message: Message, decision: arbitration.Decision, now: dt.datetime) -> Message:
    """The message as arbitration decided: suppressed with a reason, or leaving at a time
    (deferred to the end of quiet hours, or now)."""
    if decision.outcome == "suppressed":
        return outgoing.changed(message, status="suppressed", reason=decision.reason)
    leaves = decision.until or now
    if decision.outcome == "deferred":  # the dispatcher takes it at next_attempt_at
        reason = decision.reason or "quiet_hours"
        return outgoing.changed(message, status="deferred", reason=reason, next_attempt_at=leaves)
    return outgoing.changed(message, next_attempt_at=leaves)


def _set_trait(p: Profile, node: s.SetTrait, now: dt.datetime) -> Profile:
    """A trait a journey sets, stamped with the step's time (a later identify still wins)."""
    if p.trait_at.get(node.trait, now) > now:
        return p
    return msgspec.structs.replace(
        p,
        traits={**p.traits, node.trait: node.value},
        trait_at={**p.trait_at, node.trait: now},
    )


def _emitted(pid: str, command: RunAction, node: s.EmitEvent, now: dt.datetime) -> Event:
    """The event an ``emit_event`` node emits; its message id is the command's key."""
    return Event(
        source=DERIVED_SOURCE,
        message_id=command.idempotency_key,
        type="track",
        event=node.event,
        timestamp=now,
        received_at=now,
        profile_id=pid,
        properties={
            **dict(node.properties),
            "journey_id": command.journey_id,
            "enrollment_id": command.enrollment_id,
        },
    )


def _shares(send: Send) -> bool:
    """A marketing webhook: what a do-not-sell (``*:sharing`` refused) stops."""
    return send.channel == "webhook" and send.purpose == "marketing"


def history_of(rows: Iterable[tuple[dt.datetime, str, str, str]]) -> ContactHistory:
    """Contact history from (at, channel, purpose, journey_id) rows."""
    return ContactHistory(
        tuple(arbitration.Contact(at, channel, purpose, jid) for at, channel, purpose, jid in rows)
    )


__all__ = [
    "JOURNEY_TIMER",
    "JourneyConfig",
    "JourneyState",
    "Message",
    "Outcome",
    "history_of",
    "on_timer",
    "react",
]
