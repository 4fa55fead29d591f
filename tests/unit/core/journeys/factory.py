"""Builders for journey tests: events, profiles and a tiny in-memory engine loop."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from juncture.core.events import Event
from juncture.core.journeys import commands as c
from juncture.core.journeys import machine, orchestrate
from juncture.core.journeys.spec import JourneySpec
from juncture.core.journeys.state import Enrollment
from juncture.definitions import journeys as journey_definitions
from juncture.testing import T0, event

__all__ = ["CART", "T0", "Engine", "event", "journey", "of", "profile"]


def profile(pid: str = "p1", **traits: Any) -> dict[str, Any]:
    return {"id": pid, "traits": traits, "orders": {"count": traits.pop("orders", 0)}}


def journey(text: str) -> JourneySpec:
    return journey_definitions.loads(text, "test.yaml")


CART = """
id: cart
version: 1
name: Cart
priority: 80
entry: {reentry: always, key: event.properties.cart_id}
goal: {event: Order Completed, within: 7d, key: event.properties.cart_id}
exit_when: [Unsubscribed]
nodes:
  - {id: added, type: trigger, event: Product Added, next: wait}
  - id: wait
    type: wait
    until_event: Order Completed
    key: event.properties.cart_id
    timeout: 1h
    reset: Product Added
    on_event: done
    on_timeout: email
  - {id: email, type: send, channel: email, template: cart_reminder, next: done}
  - {id: done, type: exit}
"""


def of(kind: type[Any], commands: Iterable[c.Command]) -> list[Any]:
    return [x for x in commands if isinstance(x, kind)]


class Engine:
    """Applies steps the way the real engine will: enrollments upserted, timers by key."""

    def __init__(self, journeys: list[JourneySpec], prof: Mapping[str, Any] | None = None):
        self.journeys = journeys
        self.profile = prof or profile()
        self.enrollments: dict[str, Enrollment] = {}
        self.timers: dict[str, c.ScheduleTimer] = {}
        self.log: list[c.Command] = []

    def apply(self, step: machine.Step) -> machine.Step:
        for enrollment in step.enrollments:
            self.enrollments[enrollment.id] = enrollment
        for command in step.commands:
            if isinstance(command, c.ScheduleTimer):
                self.timers[command.key] = command
            elif isinstance(command, c.CancelTimer):
                self.timers.pop(command.key, None)
        self.log.extend(step.commands)
        return step

    def send(self, ev: Event) -> machine.Step:
        self.run_until(ev.timestamp)
        step = machine.on_event(
            self.journeys, list(self.enrollments.values()), self.profile, ev, ev.timestamp
        )
        return self.apply(step)

    def run_until(self, now: dt.datetime) -> None:
        while True:
            due = sorted((t.due_at, k) for k, t in self.timers.items() if t.due_at <= now)
            if not due:
                return
            timer = self.timers.pop(due[0][1])
            enrollment = self.enrollments[orchestrate.enrollment_of(timer.key)]
            wanted = (enrollment.journey_id, enrollment.version)
            spec = next(j for j in self.journeys if (j.id, j.version) == wanted)
            self.apply(machine.on_timer(spec, enrollment, timer, self.profile, timer.due_at))
