"""The rows the survey reports are computed from (:mod:`juncture.analytics.survey_report`):
survey answers, who could have answered (customers who ordered, support tickets opened),
journey enrollments, segment memberships and orders, each for the profile it lives on in now.

An answer is ``NPS Submitted`` (NPS), ``CSAT Submitted`` (CSAT) or ``Survey Answered`` with
``survey`` ``nps`` or ``csat``; its ``score`` a JSON number or numeric string; its store the
``store_id`` (else ``location_id``) of its properties.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa

from juncture.store import tables
from juncture.store.kpi_sql import Body, aliases, orders_placed, within
from juncture.store.kpis import KpiQuery, Reads, in_segment

_E: Final = tables.events
NPS_EVENT: Final = "NPS Submitted"
CSAT_EVENT: Final = "CSAT Submitted"
ANSWERED: Final = "Survey Answered"
TICKETS: Final = ("Support Ticket Opened", "Support Ticket Created", "Ticket Created")


@dataclass(frozen=True, slots=True)
class Touch:
    """Something a profile did at a time: an answer (``kind`` ``nps``/``csat``, ``score``),
    an order or a ticket (``kind`` ``order``/``ticket``); ``store`` where it names one."""

    profile_id: str
    at: dt.datetime
    kind: str
    score: float | None
    store: str | None


@dataclass(frozen=True, slots=True)
class SurveyRows:
    """Answers, orders and tickets in range; every enrollment (journey, holdout, profile,
    entered) and segment membership (segment, profile) of the profiles concerned."""

    touches: list[Touch]
    enrollments: list[tuple[str, bool, str, dt.datetime]]
    memberships: list[tuple[str, str]]


class Surveys(Reads):
    """Survey reads over one SQL store."""

    def rows(self, q: KpiQuery, *, orders_after: bool = False) -> SurveyRows:
        """What :mod:`juncture.analytics.survey_report` needs over ``q``; with
        ``orders_after``, orders up to ``q.window`` past ``until`` too (what followed)."""
        with self._connect() as conn:
            touches = [Touch(*r) for r in conn.execute(self._answers(q))]
            touches += [Touch(*r) for r in conn.execute(self._tickets(q))]
            touches += [Touch(*r) for r in conn.execute(self._orders(q, orders_after))]
            e, m = tables.enrollments, tables.segment_members
            a = aliases()
            enrolled = sa.select(e.c.journey_id, e.c.holdout, a.c.live, e.c.entered_at).join(
                a, a.c.pid == e.c.profile_id
            )
            members = sa.select(m.c.segment_id, m.c.profile_id)
            return SurveyRows(
                touches=sorted(touches, key=lambda t: (t.at, t.kind)),
                enrollments=[
                    (str(j), bool(h), str(p), at) for j, h, p, at in conn.execute(enrolled)
                ],
                memberships=[(str(s), str(p)) for s, p in conn.execute(members)],
            )

    def _answers(self, q: KpiQuery) -> sa.Select[Any]:
        a, body = aliases(), Body(_E.c.body, self.dialect)
        survey = sa.func.lower(body.text("properties", "survey"))
        kind = sa.case(
            (_E.c.event == NPS_EVENT, sa.literal("nps")),
            (_E.c.event == CSAT_EVENT, sa.literal("csat")),
            else_=survey,
        )
        answered = sa.or_(
            _E.c.event.in_([NPS_EVENT, CSAT_EVENT]),
            sa.and_(_E.c.event == ANSWERED, survey.in_(["nps", "csat"])),
        )
        return self._select(a, kind, body.number("properties", "score"), body, q).where(
            answered, body.number("properties", "score").is_not(None)
        )

    def _tickets(self, q: KpiQuery) -> sa.Select[Any]:
        a, body = aliases(), Body(_E.c.body, self.dialect)
        return self._select(a, sa.literal("ticket"), sa.null(), body, q).where(
            _E.c.event.in_(TICKETS)
        )

    def _select(self, a: Any, kind: Any, score: Any, body: Body, q: KpiQuery) -> sa.Select[Any]:
        store = sa.func.coalesce(
            body.text("properties", "store_id"), body.text("properties", "location_id")
        )
        return (
            sa.select(a.c.live, _E.c.timestamp, kind, score, store)
            .select_from(_E.join(a, a.c.pid == _E.c.profile_id))
            .where(*within(_E.c.timestamp, q.since, q.until), *in_segment(a.c.live, q))
        )

    def _orders(self, q: KpiQuery, after: bool) -> sa.Select[Any]:
        o = orders_placed()
        until = q.until + q.window if after and q.until is not None else q.until
        return sa.select(o.c.profile_id, o.c.at, sa.literal("order"), sa.null(), sa.null()).where(
            *within(o.c.at, q.since, until), *in_segment(o.c.profile_id, q)
        )
