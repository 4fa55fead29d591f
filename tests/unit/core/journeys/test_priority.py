"""What journey priority decides, as the README says: only between the marketing sends that
one event (or one timer) produces across journeys; across events, caps decide."""

from __future__ import annotations

import datetime as dt

from juncture.core.events import Event
from juncture.core.journeys import orchestrate
from juncture.core.journeys.arbitration import Cap, Policy
from juncture.core.journeys.catalog import Catalog
from juncture.core.journeys.spec import JourneySpec
from juncture.core.profile.model import Profile
from juncture.definitions import journeys as journey_definitions

T0 = dt.datetime(2026, 5, 4, 10, 0, tzinfo=dt.UTC)
ANYONE = Policy(opt_in_channels=frozenset())  # no consent needed: priority is the subject


def journey(
    jid: str, priority: int, trigger: str, channel: str = "email", purpose: str = ""
) -> JourneySpec:
    text = f"""\
id: {jid}
version: 1
name: {jid}
priority: {priority}
nodes:
  - {{id: t, type: trigger, event: {trigger}, next: s}}
  - {{id: s, type: send, channel: {channel}, template: x, {purpose} next: done}}
  - {{id: done, type: exit}}
"""
    return journey_definitions.loads(text, f"{jid}.yaml")


def event(name: str, at: dt.datetime = T0) -> Event:
    return Event(source="t", message_id=f"{name}@{at}", type="track", event=name,
                 timestamp=at, received_at=at, profile_id="p1")  # fmt: skip


def outcome(
    journeys: list[JourneySpec], events: list[Event], policy: Policy = ANYONE
) -> list[tuple[str, str, str | None]]:
    person = Profile(profile_id="p1", traits={"email": "a@b.example", "phone": "+4915100000"})
    state = orchestrate.JourneyState()
    found = []
    for e in events:  # one engine step per event, the state carried over as the store does
        out = orchestrate.react(
            Catalog.of(journeys), state, person, [e], orchestrate.JourneyConfig(policy)
        )
        state = out.state
        found += [(m.journey_id or "", m.status, m.reason) for m in out.messages]
    return sorted(found)


def test_the_same_event_the_highest_priority_wins_on_every_channel() -> None:
    high, low = journey("high", 50, "Signed Up"), journey("low", 10, "Signed Up", "sms")
    assert outcome([high, low], [event("Signed Up")]) == [
        ("high", "pending", None),
        ("low", "suppressed", "lower_priority"),
    ]


def test_transactional_sends_do_not_compete() -> None:
    high = journey("high", 50, "Signed Up")
    receipt = journey("receipt", 0, "Signed Up", purpose="purpose: transactional,")
    assert outcome([high, receipt], [event("Signed Up")]) == [
        ("high", "pending", None),
        ("receipt", "pending", None),
    ]


def test_across_events_priority_does_not_apply_and_caps_decide() -> None:
    low, high = journey("low", 10, "Product Viewed"), journey("high", 50, "Signed Up")
    later = [event("Product Viewed"), event("Signed Up", T0 + dt.timedelta(minutes=1))]
    assert outcome([low, high], later) == [("high", "pending", None), ("low", "pending", None)]
    capped = Policy(opt_in_channels=frozenset(), global_cap=Cap(day=1))
    assert outcome([low, high], later, capped) == [
        ("high", "suppressed", "global_cap"),  # first come, first served: priority is no help
        ("low", "pending", None),
    ]
