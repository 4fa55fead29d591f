"""What the journey machine asks the engine to do, in the transaction of the event.

Every command names the enrollment it comes from (journey, version, enrollment id, profile).
Keys are deterministic (see :mod:`juncture.core.journeys.machine`): replaying the same events
yields the same commands, so the outbox can deduplicate on ``idempotency_key`` and the timer
table can upsert on ``ScheduleTimer.key`` (a re-armed wait reuses its key).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Timer:
    """A durable timer: the scheduler hands it back to ``machine.on_timer`` when due."""

    key: str
    due_at: dt.datetime
    profile_id: str
    journey_id: str
    version: int
    enrollment_id: str
    node: str

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "due_at": self.due_at.isoformat(),
            "profile_id": self.profile_id,
            "journey_id": self.journey_id,
            "version": self.version,
            "enrollment_id": self.enrollment_id,
            "node": self.node,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Timer:
        return cls(
            key=data["key"],
            due_at=dt.datetime.fromisoformat(data["due_at"]),
            profile_id=data["profile_id"],
            journey_id=data["journey_id"],
            version=int(data["version"]),
            enrollment_id=data["enrollment_id"],
            node=data["node"],
        )


@dataclass(frozen=True, slots=True)
class ScheduleTimer:
    """Create the timer, or move it when one with the same key exists."""

    timer: Timer

    @property
    def key(self) -> str:
        return self.timer.key

    @property
    def due_at(self) -> dt.datetime:
        return self.timer.due_at


@dataclass(frozen=True, slots=True)
class CancelTimer:
    key: str


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
