"""What the journey machine asks the engine to do, in the transaction of the event.

Every command names the enrollment it comes from (journey, version, enrollment id, profile).
An action node (``set_trait``, ``emit_event``, ``webhook``) travels as it was defined, inside a
:class:`RunAction`: the node is the one type of what it does, the command adds where it ran.
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

from juncture.core.journeys import spec
from juncture.core.journeys.content import MessageData
from juncture.core.journeys.windows import SendWindow
from juncture.core.timers import CancelTimer, ScheduleTimer

__all__ = [
    "JOURNEY_TIMER",
    "CancelTimer",
    "Command",
    "RecordExit",
    "RecordGoal",
    "RecordSuppressed",
    "RunAction",
    "ScheduleTimer",
    "Send",
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
    data: MessageData = field(default_factory=MessageData)  # what the template shows
    expires: dt.timedelta | None = None  # on-site: how long it waits at most
    window: SendWindow | None = None  # the journey's send window (marketing)
    recommended: spec.Recommended | None = None  # sent only with this much to recommend


@dataclass(frozen=True, slots=True)
class RunAction(_Origin):
    """An action node reached: the engine sets the trait, emits the event (for the same
    profile) or queues the webhook call that ``action`` defines. ``idempotency_key`` is the
    emitted event's message id, or the call's outbox key, so a replay repeats neither;
    ``event`` is the enrollment's latest event, which a webhook's default body reports."""

    action: spec.Action
    idempotency_key: str
    event: Mapping[str, Any] = field(default_factory=dict)


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
    ScheduleTimer | CancelTimer | Send | RunAction | RecordGoal | RecordExit | RecordSuppressed
)
