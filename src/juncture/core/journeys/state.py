"""Journey state that the store keeps: enrollments, as plain JSON documents."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from juncture.core.journeys.copies import copier

if TYPE_CHECKING:
    from juncture.core.journeys.commands import Command


@dataclass(frozen=True, slots=True)
class Waiting:
    """The timer an enrollment waits on (the wait node is the enrollment's ``node``)."""

    timer_key: str
    due_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Enrollment:
    """One profile's passage through one version of one journey.

    ``history`` is the path taken: ``(node id, outcome)`` per step, where the outcome is the
    trigger kind, the chosen branch (condition index or ``otherwise``, split branch name),
    ``event``/``timeout`` for a resolved wait, or empty. ``event`` is the latest event that
    moved the enrollment (``name``, ``message_id``, ``properties``): what conditions and
    templates see as ``event``.
    """

    id: str
    journey_id: str
    version: int
    profile_id: str
    key: str | None
    node: str
    entered_at: dt.datetime
    event: Mapping[str, Any] = field(default_factory=dict)
    waiting: Waiting | None = None
    goal_reached: bool = False
    exited: bool = False
    exit_reason: str | None = None
    exited_at: dt.datetime | None = None
    history: tuple[tuple[str, str], ...] = ()
    holdout: bool = False

    @property
    def active(self) -> bool:
        return not self.exited

    def branch(self, node_id: str) -> str | None:
        """The latest outcome at ``node_id`` (the variant of a split), if it was visited."""
        return dict(self.history).get(node_id)

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready document; :meth:`from_json` reads it back."""
        return {
            "id": self.id,
            "journey_id": self.journey_id,
            "version": self.version,
            "profile_id": self.profile_id,
            "key": self.key,
            "node": self.node,
            "entered_at": self.entered_at.isoformat(),
            "event": dict(self.event),
            "waiting": None
            if self.waiting is None
            else {"timer_key": self.waiting.timer_key, "due_at": self.waiting.due_at.isoformat()},
            "goal_reached": self.goal_reached,
            "exited": self.exited,
            "exit_reason": self.exit_reason,
            "exited_at": None if self.exited_at is None else self.exited_at.isoformat(),
            "history": [list(h) for h in self.history],
            "holdout": self.holdout,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Enrollment:
        waiting = data.get("waiting")
        exited_at = data.get("exited_at")
        return cls(
            id=data["id"],
            journey_id=data["journey_id"],
            version=int(data["version"]),
            profile_id=data["profile_id"],
            key=data.get("key"),
            node=data["node"],
            entered_at=dt.datetime.fromisoformat(data["entered_at"]),
            event=dict(data.get("event") or {}),
            waiting=None
            if waiting is None
            else Waiting(waiting["timer_key"], dt.datetime.fromisoformat(waiting["due_at"])),
            goal_reached=bool(data.get("goal_reached")),
            exited=bool(data.get("exited")),
            exit_reason=data.get("exit_reason"),
            exited_at=None if exited_at is None else dt.datetime.fromisoformat(exited_at),
            history=tuple((str(n), str(o)) for n, o in data.get("history") or ()),
            holdout=bool(data.get("holdout")),
        )


# ``changed(enrollment, **changes)``: dataclasses.replace at about half its cost (the machine
# copies an enrollment at each node it walks).
changed = copier(Enrollment)


@dataclass(frozen=True, slots=True)
class Step:
    """What one event or timer did: enrollments to upsert and commands, in order."""

    enrollments: tuple[Enrollment, ...] = ()
    commands: tuple[Command, ...] = ()


def local_zone(name: object, default: str = "UTC") -> zoneinfo.ZoneInfo:
    """The IANA zone ``name`` (a profile's ``timezone`` trait), ``default`` when unusable."""
    if isinstance(name, str) and name:
        try:
            return zoneinfo.ZoneInfo(name)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass
    return zoneinfo.ZoneInfo(default)
