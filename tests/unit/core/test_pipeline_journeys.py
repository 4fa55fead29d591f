"""pipeline.step with journeys: the events no journey hears are not run through them, and
the step is what react would have made of them; a journey's step writes the profile only
when it was changed (an event's) or a journey set a trait (pipeline.fire)."""

from __future__ import annotations

import datetime as dt

from juncture.core import pipeline
from juncture.core.events import Event
from juncture.core.identity import IdentityGraph
from juncture.core.journeys import orchestrate
from juncture.core.journeys.catalog import Catalog
from juncture.core.profile.model import Profile
from juncture.core.signals import ScheduleTimer
from tests.unit.core.journeys.factory import CART, T0, event, journey

CATALOG = Catalog.of([journey(CART)])
CONFIG = pipeline.EngineConfig()
LATER = """
id: later
version: 1
name: Later
nodes:
  - {{id: t, type: trigger, event: Survey Sent, next: wait}}
  - {{id: wait, type: wait, duration: 1h, next: act}}
  - {{id: act, {action}, next: done}}
  - {{id: done, type: exit}}
"""
TAGS = LATER.format(action="type: set_trait, trait: surveyed, value: true")
HOOKS = LATER.format(action='type: webhook, url: "https://x.test/h"')


def feed(*events: Event, catalog: Catalog = CATALOG) -> list[pipeline.Step]:
    """Each event through pipeline.step in turn, the graph, profiles and journey state kept."""
    graph = IdentityGraph()
    known: dict[str, Profile] = {}
    states: dict[str, orchestrate.JourneyState] = {}
    steps = []
    for ev in events:
        step = pipeline.step(graph, known, ev, CONFIG, pipeline.Journeys(catalog, states))
        graph = step.graph or graph
        known.update(step.profiles)
        if step.journey_profile is not None and step.journey_state is not None:
            states[step.journey_profile] = step.journey_state
        steps.append(step)
    return steps


def test_hears_an_event_a_journey_listens_to_wherever_it_is() -> None:
    assert orchestrate.hears(CATALOG, [event("Product Added", cart_id="c1")])
    assert orchestrate.hears(CATALOG, [event("Page Seen"), event("Order Completed")])
    assert not orchestrate.hears(CATALOG, [event("Page Seen"), event("Product Viewed")])
    assert not orchestrate.hears(CATALOG, [])


def test_an_event_no_journey_hears_leaves_the_journey_state_as_react_would() -> None:
    added, seen = feed(
        event("Product Added", cart_id="c1", product_id="sku1", price=10),
        event("Page Seen", T0 + dt.timedelta(minutes=5)),
    )
    assert added.enrollments  # heard: the cart journey started
    assert not orchestrate.hears(CATALOG, seen.events)
    pid = seen.journey_profile
    assert pid is not None and added.journey_state is not None
    assert seen.journey_state is added.journey_state
    outcome = orchestrate.react(
        CATALOG, added.journey_state, seen.profiles[pid], seen.events, CONFIG.journeys
    )
    assert seen.journey_state == outcome.state
    assert seen.profiles[pid] is outcome.profile
    assert (seen.enrollments, seen.messages) == (tuple(outcome.enrollments.values()), ())
    assert seen.events == tuple(seen.events[:1]) + tuple(outcome.events)


def test_a_heard_event_after_one_unheard_still_moves_the_journey() -> None:
    *_, done = feed(
        event("Product Added", cart_id="c1", product_id="sku1", price=10),
        event("Page Seen", T0 + dt.timedelta(minutes=5)),
        event("Order Completed", T0 + dt.timedelta(minutes=10), cart_id="c1", order_id="o1"),
    )
    assert done.journey_state is not None
    assert [e.active for e in done.journey_state.enrollments] == [False]


def waited(text: str) -> tuple[pipeline.Step, pipeline.Step]:
    """The step of the event that starts the journey of ``text``, and its wait's timer fired."""
    catalog = Catalog.of([journey(text)])
    (started,) = feed(event("Survey Sent"), catalog=catalog)
    pid, state = started.journey_profile, started.journey_state
    assert pid is not None and state is not None
    (timer,) = (
        t
        for t in started.timers
        if isinstance(t, ScheduleTimer) and t.kind == orchestrate.JOURNEY_TIMER
    )
    journeys = pipeline.Journeys(catalog, {pid: state})
    return started, pipeline.fire(timer, started.profiles[pid], timer.due_at, CONFIG, journeys)


def test_a_journey_timer_that_sets_no_trait_leaves_the_profile_unwritten() -> None:
    started, fired = waited(HOOKS)
    assert [m.channel for m in fired.messages] == ["webhook"]  # the journey did move on
    assert fired.profiles == {}
    assert list(started.profiles) == [started.journey_profile]  # an event's profile: always


def test_a_journey_timer_that_sets_a_trait_writes_the_profile() -> None:
    started, fired = waited(TAGS)
    pid = fired.journey_profile
    assert pid is not None and "surveyed" not in started.profiles[pid].traits
    assert list(fired.profiles) == [pid]
    assert fired.profiles[pid].traits["surveyed"] is True
