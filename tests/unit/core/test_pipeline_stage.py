"""Journey stage moves by time through the pure engine: the stage timer fires each move at
its moment in event time and schedules the next."""

from __future__ import annotations

import datetime as dt
from typing import Any

from juncture.core import pipeline
from juncture.core.events import Event
from juncture.core.identity import IdentityGraph
from juncture.core.pipeline import STAGE_TIMER, EngineConfig
from juncture.core.profile.model import Profile
from juncture.core.signals import ScheduleTimer

T0 = dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
CONFIG = EngineConfig()


def ev(name: str, at: dt.datetime, **props: Any) -> Event:
    return Event(
        source="web",
        message_id=f"{name}@{at.isoformat()}",
        type="track",
        event=name,
        timestamp=at,
        received_at=at,
        user_id="u1",
        properties=props,
    )


def feed(*events: Event) -> tuple[Profile, list[pipeline.Step]]:
    graph, known = IdentityGraph(), dict[str, Profile]()
    steps = []
    for event in events:
        step = pipeline.step(graph, known, event, CONFIG)
        graph = step.graph or graph
        known.update(step.profiles)
        steps.append(step)
    (current,) = known.values()
    return current, steps


def stage_timer(step: pipeline.Step) -> ScheduleTimer:
    (timer,) = [t for t in step.timers if isinstance(t, ScheduleTimer) and t.kind == STAGE_TIMER]
    return timer


def moves(step: pipeline.Step) -> list[tuple[str, str, dt.datetime]]:
    return [
        (e.properties["from"], e.properties["to"], e.timestamp)
        for e in step.events
        if e.event == "Journey Stage Changed"
    ]


def test_loyalty_turns_into_decision_then_lapsed_each_with_its_event() -> None:
    current, steps = feed(ev("Order Completed", T0, order_id="o1"), ev("Product Used", T0 + DAY))
    assert moves(steps[1]) == [("decision", "loyalty", T0 + DAY)]
    first = stage_timer(steps[1])
    assert first.due_at == T0 + 31 * DAY
    # the runtime fires it late (a commit days after): the event still has its moment
    fired = pipeline.fire(first, current, T0 + 60 * DAY, CONFIG)
    assert moves(fired) == [("loyalty", "decision", T0 + 31 * DAY)]
    assert fired.profiles == {current.profile_id: current}  # the stored stage column moves
    second = stage_timer(fired)
    assert second.due_at == T0 + 91 * DAY
    lapsed = pipeline.fire(second, current, T0 + 91 * DAY, CONFIG)
    assert moves(lapsed) == [("decision", "lapsed", T0 + 91 * DAY)]
    assert [t for t in lapsed.timers if isinstance(t, ScheduleTimer)] == []


def test_the_next_event_after_a_move_by_time_starts_from_the_moved_stage() -> None:
    current, steps = feed(ev("Order Completed", T0, order_id="o1"), ev("Product Used", T0 + DAY))
    fired = pipeline.fire(stage_timer(steps[1]), current, T0 + 31 * DAY, CONFIG)
    assert moves(fired) == [("loyalty", "decision", T0 + 31 * DAY)]
    _, again = feed(
        ev("Order Completed", T0, order_id="o1"),
        ev("Product Used", T0 + DAY),
        ev("Product Used", T0 + 40 * DAY),
    )
    assert moves(again[2]) == [("decision", "loyalty", T0 + 40 * DAY)]


def test_a_timer_overtaken_by_activity_does_not_fire() -> None:
    current, steps = feed(
        ev("Order Completed", T0, order_id="o1"),
        ev("Product Used", T0 + DAY),
        ev("Product Used", T0 + 20 * DAY),
    )
    stale = stage_timer(steps[1])
    assert pipeline.fire(stale, current, T0 + 31 * DAY, CONFIG).events == ()
    assert stage_timer(steps[2]).due_at == T0 + 50 * DAY
    early = stage_timer(steps[2])
    assert pipeline.fire(early, current, T0 + 49 * DAY, CONFIG).events == ()  # not due yet
