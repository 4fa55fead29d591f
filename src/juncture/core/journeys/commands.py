"""What the journey machine asks the engine to do, in the transaction of the event.

Every command names the enrollment it comes from (journey, version, enrollment id, profile).
Keys are deterministic (see :mod:`juncture.core.journeys.machine`): replaying the same events
yields the same commands, so the outbox can deduplicate on ``idempotency_key`` and the timer
table can upsert on ``ScheduleTimer.key`` (a re-armed wait reuses its key). A wait's timer
is the engine's own :class:`~juncture.core.timers.ScheduleTimer` (kind
:data:`JOURNEY_TIMER`) and :class:`~juncture.core.timers.CancelTimer`, as for every other
timer of the core.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from juncture.core.timers import CancelTimer, ScheduleTimer

__all__ = [
    "JOURNEY_TIMER",
    "CallWebhook",
    "CancelTimer",
    "Command",
    "EmitEvent",
    "RecordExit",
    "RecordGoal",
    "RecordSuppressed",
    "ScheduleTimer",
    "Send",
    "SetTrait",
]

# The kind of a journey wait's timer. Its key is the machine's, unique within the profile's
# journeys; the engine stores it prefixed (``orchestrate.timer_key``).
JOURNEY_TIMER: Final = "journey"


@dataclass(frozen=True, slots=True)
class _Origin:
    journey_id: str
    version: int
    enrollment_id: str
    profile_id: str


@dataclass(frozen=True, slots=True)
class Send(_Origin):
    """A message candidate: arbitration decides whether, and when, it leaves."""

    node: str
    idempotency_key: str
    channel: str
    purpose: str
    template: str | None = None
    inline: Mapping[str, Any] | None = None
    priority: int = 0
    context: Mapping[str, Any] = field(default_factory=dict)
    kind: str | None = None  # on-site: the placement kind and slot
    placement: str | None = None


@dataclass(frozen=True, slots=True)
class SetTrait(_Origin):
    node: str
    trait: str
    value: Any


@dataclass(frozen=True, slots=True)
class EmitEvent(_Origin):
    """A derived event for the same profile; ``message_id`` deduplicates it on replay."""

    node: str
    message_id: str
    event: str
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CallWebhook(_Origin):
    node: str
    idempotency_key: str
    url: str
    method: str = "POST"
    body: Mapping[str, Any] = field(default_factory=dict)
    context: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class RecordGoal(_Origin):
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class RecordExit(_Origin):
    """``reason``: ``completed`` (an exit node), ``goal`` or ``exit_criteria``."""

    reason: str
    at: dt.datetime


@dataclass(frozen=True, slots=True)
class RecordSuppressed(_Origin):
    """A message not sent, kept for measurement (``holdout`` from the machine)."""

    node: str
    reason: str
    idempotency_key: str


Command = (
    ScheduleTimer
    | CancelTimer
    | Send
    | SetTrait
    | EmitEvent
    | CallWebhook
    | RecordGoal
    | RecordExit
    | RecordSuppressed
)
