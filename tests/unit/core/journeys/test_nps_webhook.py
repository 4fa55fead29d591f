"""The NPS detractor's ticket tells the helpdesk who the customer is and what they said."""

from __future__ import annotations

import datetime as dt
from typing import Any

from juncture.core.events import Event
from juncture.core.journeys import orchestrate
from juncture.core.journeys.arbitration import Policy
from juncture.core.journeys.catalog import Catalog
from juncture.core.profile.model import Consent, Profile
from juncture.definitions import journeys as journey_definitions

T0 = dt.datetime(2026, 5, 4, 10, 0, tzinfo=dt.UTC)
NPS = next(j for j in journey_definitions.load_library() if j.id == "nps_follow_up")


def ticket(profile: Profile, **answer: Any) -> dict[str, Any]:
    event = Event(source="web", message_id="m1", type="track", event="NPS Submitted",
                  timestamp=T0, received_at=T0, user_id="u-42", properties=answer,
                  profile_id=profile.profile_id)  # fmt: skip
    config = orchestrate.JourneyConfig(Policy(opt_in_channels=frozenset()))
    out = orchestrate.react(Catalog.of([NPS]), orchestrate.JourneyState(), profile, [event],
                            config, user_id="u-42")  # fmt: skip
    [call] = [m for m in out.messages if m.channel == "webhook"]
    body: dict[str, Any] = call.payload["body"]
    return body


def test_the_ticket_names_the_customer_the_score_the_comment_and_the_time() -> None:
    customer = Profile(profile_id="p_9", traits={"email": "ada@example.com"})
    body = ticket(customer, score=3, comment="Late, twice")
    assert (body["kind"], body["priority"]) == ("nps_detractor", "high")  # as declared
    assert (body["profile_id"], body["user_id"], body["email"]) == (
        "p_9",
        "u-42",
        "ada@example.com",
    )
    assert body["event"]["name"] == "NPS Submitted"
    assert body["event"]["properties"] == {"score": 3, "comment": "Late, twice"}
    assert dt.datetime.fromisoformat(body["event"]["timestamp"]) == T0
    assert body["journey"] == {"id": NPS.id, "version": NPS.version, "node": "open_ticket"}


def test_no_email_when_unknown_or_refused() -> None:
    assert "email" not in ticket(Profile(profile_id="p_9"), score=1)
    refused = Profile(
        profile_id="p_9",
        traits={"email": "ada@example.com"},
        consent={"email:*": Consent(granted=False, at=T0 - dt.timedelta(days=1))},
    )
    assert "email" not in ticket(refused, score=1)
