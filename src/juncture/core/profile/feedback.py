"""Feedback: survey scores (``Survey Answered`` with ``survey`` ``nps``/``csat``,
``NPS Submitted``, ``CSAT Submitted``), support tickets and product reviews."""

from __future__ import annotations

from typing import Final

from juncture.core.profile.model import Score
from juncture.core.profile.properties import number
from juncture.core.profile.step import Step

_TICKET_EVENTS: Final = frozenset({"Ticket Created", "Support Ticket Created"})


def on_survey(s: Step) -> None:
    profile, event, ch = s.profile, s.event, s.ch
    props = event.properties
    name = event.event
    if name == "NPS Submitted":
        survey = "nps"
    elif name == "CSAT Submitted":
        survey = "csat"
    else:
        raw = props.get("survey") or props.get("survey_type")
        survey = raw.lower() if isinstance(raw, str) else ""
    score = number(props.get("score"))
    if survey not in ("nps", "csat") or score is None:
        return
    known: Score | None = getattr(profile, survey)
    if known is None or event.timestamp >= known.at:
        survey_id = props.get("survey_id")
        ch[survey] = Score(
            score=score,
            at=event.timestamp,
            survey=survey_id if isinstance(survey_id, str) else None,
        )


def on_ticket(s: Step) -> None:
    profile, ch = s.profile, s.ch
    ch["support_tickets"] = profile.support_tickets + 1


def on_review(s: Step) -> None:
    profile, event, ch = s.profile, s.event, s.ch
    ch["reviews"] = profile.reviews + 1
    rating = number(event.properties.get("rating"))
    if rating is not None:
        ch["rating_sum"] = profile.rating_sum + rating
