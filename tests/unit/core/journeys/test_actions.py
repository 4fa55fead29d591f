"""Action nodes carried out inside the engine's step (orchestrate): a webhook call becomes an
outbox message, a trait is set on the profile, an emitted event runs through the journeys."""

from __future__ import annotations

import datetime as dt

from juncture.core.journeys import orchestrate
from juncture.core.journeys.catalog import Catalog
from juncture.core.profile.model import Profile
from tests.unit.core.journeys.factory import T0, event, journey

ACTIONS = """
id: acts
version: 3
name: Actions
nodes:
  - {id: t, type: trigger, event: NPS Submitted, next: ticket}
  - {id: ticket, type: webhook, url: "https://x.test/t", next: given}
  - {id: given, type: webhook, url: "https://x.test/u", method: PUT, body: {k: v}, next: tag}
  - {id: tag, type: set_trait, trait: detractor, value: true, next: emit}
  - {id: emit, type: emit_event, event: Detractor Found, properties: {s: 1}, next: done}
  - {id: done, type: exit}
"""
JOURNEY = {"id": "acts", "version": 3}
FOLLOW = """
id: follow
version: 1
name: Follow
nodes:
  - {id: t, type: trigger, event: Detractor Found, next: hook}
  - {id: hook, type: webhook, url: "https://x.test/f", next: done}
  - {id: done, type: exit}
"""


def run(profile: Profile, *texts: str) -> orchestrate.Outcome:
    specs = tuple(journey(text) for text in texts)
    catalog = Catalog(versions=specs, open=frozenset(s.id for s in specs))
    nps = event("NPS Submitted", T0, msg="m1", score=2)
    config = orchestrate.JourneyConfig()
    return orchestrate.react(catalog, orchestrate.JourneyState(), profile, [nps], config)


def test_webhooks_leave_at_once_with_the_default_body_and_the_given_fields() -> None:
    out = run(Profile(profile_id="p1"), ACTIONS)
    (enrollment,) = out.enrollments.values()
    default, given = out.messages
    assert (default.channel, default.purpose, default.status) == (
        "webhook",
        "transactional",
        "pending",
    )
    assert default.next_attempt_at == T0
    assert (default.journey_id, default.journey_version, default.node_id) == ("acts", 3, "ticket")
    assert default.enrollment_id == enrollment.id
    assert default.idempotency_key == f"acts:3:{enrollment.id}:ticket:1"
    assert default.payload == {
        "url": "https://x.test/t",
        "method": "POST",
        "body": {
            "profile_id": "p1",
            "event": {
                "name": "NPS Submitted",
                "message_id": "m1",
                "timestamp": T0.isoformat(),
                "properties": {"score": 2},
            },
            "journey": {"id": "acts", "version": 3, "node": "ticket"},
        },
    }
    assert given.payload == {
        "url": "https://x.test/u",
        "method": "PUT",
        "body": {**default.payload["body"], "journey": {**JOURNEY, "node": "given"}, "k": "v"},
    }
    assert given.idempotency_key == f"acts:3:{enrollment.id}:given:2"


def test_a_trait_is_set_at_the_step_time_unless_a_later_one_holds() -> None:
    out = run(Profile(profile_id="p1"), ACTIONS)
    assert out.traits_set
    assert out.profile.traits["detractor"] is True
    assert out.profile.trait_at["detractor"] == T0
    later = T0 + dt.timedelta(hours=1)
    kept = Profile(profile_id="p1", traits={"detractor": False}, trait_at={"detractor": later})
    assert run(kept, ACTIONS).profile.traits["detractor"] is False


def test_an_emitted_event_carries_its_origin_and_runs_through_the_journeys() -> None:
    out = run(Profile(profile_id="p1"), ACTIONS, FOLLOW)
    first = next(e for e in out.enrollments.values() if e.journey_id == "acts")
    (emitted,) = out.events
    assert emitted.display_name == "Detractor Found"
    assert emitted.message_id == f"acts:3:{first.id}:emit:4"
    assert (emitted.profile_id, emitted.timestamp) == ("p1", T0)
    assert dict(emitted.properties) == {"s": 1, "journey_id": "acts", "enrollment_id": first.id}
    followed = [m for m in out.messages if m.journey_id == "follow"]
    assert [m.payload["body"]["event"]["name"] for m in followed] == ["Detractor Found"]
