"""NPS and CSAT over time, per segment, journey or store, with their intervals and response
rates, and the detractor follow-up's effect on later purchases, from the rows
:mod:`juncture.store.surveys` reads. Pure; the statistics are :mod:`.surveys`'.

- **NPS** rows: answers 0 to 10 (promoters 9-10, detractors 0-6) and the score with its 95%
  interval. Asked: the customers who ordered in the period (the ones a post-purchase survey
  reaches); the response rate is the customers who answered over them (Wilson interval).
- **CSAT** rows: answers 1 to 5, the share of the two top boxes with its Wilson interval and
  the mean answer. Asked: the support tickets opened in the period; the response rate is the
  answers over them.
- **Groups** (``by``): ``all``; ``segment`` (each segment the profile is a member of now);
  ``journey`` (each journey and arm the profile had entered before the answer, order or
  ticket: ``cart_abandonment:treatment``); ``store`` (the answer's ``store_id``, none for
  orders, so no response rate).
- **Follow-up**: detractors (their first answer of 0 to 6 in range) by their enrollment in
  the follow-up journey at the answer (``treatment``, ``holdout``, ``not_enrolled``), and who
  ordered within the window after answering. Treatment against holdout is the effect (the
  lift with its interval); without a holdout, treatment against not enrolled is only an
  association: detractors who are not followed up differ (consent, other journeys).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from juncture.analytics import surveys
from juncture.analytics.experiments import lift
from juncture.core.measures import Breakdown, Period
from juncture.store.surveys import SurveyRows, Touch

Row = dict[str, Any]
FOLLOW_UP_WITHIN = dt.timedelta(hours=1)  # an enrollment this soon after the answer is its


def period_of(at: dt.datetime, period: Period) -> str:
    """The first day of ``at``'s period (UTC, ``YYYY-MM-DD``), or ``all``.

    >>> period_of(dt.datetime(2026, 12, 3, 15, tzinfo=dt.UTC), Period.week)
    '2026-11-30'
    """
    day = at.astimezone(dt.UTC).date()
    if period is Period.all:
        return "all"
    if period is Period.week:
        day -= dt.timedelta(days=day.weekday())
    elif period is Period.month:
        day = day.replace(day=1)
    return day.isoformat()


def scores(rows: SurveyRows, period: Period, by: Breakdown) -> list[Row]:
    """One row per period, group and survey (``nps``, ``csat``); see the module docstring."""
    groups = _grouper(rows, by)
    found: dict[tuple[str, str], dict[str, list[Touch]]] = defaultdict(lambda: defaultdict(list))
    for touch in rows.touches:
        for group in groups(touch):
            found[period_of(touch.at, period), group][touch.kind].append(touch)
    out: list[Row] = []
    for (when, group), kinds in sorted(found.items()):
        key = {"period": when, "group": group}
        if kinds["nps"] or kinds["order"]:
            out.append({**key, **_nps(kinds["nps"], kinds["order"], by)})
        if kinds["csat"] or kinds["ticket"]:
            out.append({**key, **_csat(kinds["csat"], kinds["ticket"], by)})
    return out


def _nps(answers: list[Touch], orders: list[Touch], by: Breakdown) -> Row:
    found = surveys.nps(int(t.score) for t in answers if t.score is not None)
    asked = len({t.profile_id for t in orders})
    respondents = len({t.profile_id for t in answers})
    return {
        "survey": "nps", "answers": found.score.n, "promoters": found.promoters,
        "passives": found.passives, "detractors": found.detractors,
        **_score(found.score if found.score.n else None), "mean": None,
        **_response(respondents, asked, by),
    }  # fmt: skip


def _csat(answers: list[Touch], tickets: list[Touch], by: Breakdown) -> Row:
    found = surveys.csat(int(t.score) for t in answers if t.score is not None)
    n = found.satisfied.n
    return {
        "survey": "csat", "answers": n, "satisfied": round(found.satisfied.value * n),
        **_score(found.satisfied if n else None), "mean": found.mean if n else None,
        **_response(len(answers), len(tickets), by),
    }  # fmt: skip


def _score(score: surveys.Score | None) -> Row:
    if score is None:
        return {"score": None, "low": None, "high": None}
    return {"score": score.value, "low": score.low, "high": score.high}


def _response(respondents: int, asked: int, by: Breakdown) -> Row:
    """Respondents over asked with a Wilson interval (none per store: orders name none)."""
    if by is Breakdown.store or asked == 0:
        return {"asked": asked or None, "respondents": respondents, "response_rate": None,
                "response_rate_low": None, "response_rate_high": None}  # fmt: skip
    rate = surveys.wilson(min(respondents, asked), asked)
    return {"asked": asked, "respondents": respondents, "response_rate": rate.value,
            "response_rate_low": rate.low, "response_rate_high": rate.high}  # fmt: skip


def _grouper(rows: SurveyRows, by: Breakdown) -> Callable[[Touch], Iterable[str]]:
    if by is Breakdown.segment:
        member: dict[str, list[str]] = defaultdict(list)
        for segment, profile in rows.memberships:
            member[profile].append(segment)
        return lambda t: member.get(t.profile_id, ())
    if by is Breakdown.journey:
        entered: dict[str, list[tuple[dt.datetime, str]]] = defaultdict(list)
        for journey, holdout, profile, at in rows.enrollments:
            entered[profile].append((at, f"{journey}:{'holdout' if holdout else 'treatment'}"))
        return lambda t: sorted({g for at, g in entered.get(t.profile_id, ()) if at <= t.at})
    if by is Breakdown.store:
        return lambda t: [t.store or "(none)"]
    return lambda _: ["all"]


def follow_up(rows: SurveyRows, journey: str, window: dt.timedelta) -> list[Row]:
    """Detractors per arm of ``journey`` and their later orders (module docstring)."""
    first: dict[str, dt.datetime] = {}
    orders: dict[str, list[dt.datetime]] = defaultdict(list)
    for t in rows.touches:
        if t.kind == "nps" and t.score is not None and t.score <= 6:
            first.setdefault(t.profile_id, t.at)
        elif t.kind == "order":
            orders[t.profile_id].append(t.at)
    entered: dict[str, list[tuple[dt.datetime, bool]]] = defaultdict(list)
    for j, holdout, profile, when in rows.enrollments:
        if j == journey:
            entered[profile].append((when, holdout))
    arms: dict[str, list[bool]] = {"treatment": [], "holdout": [], "not_enrolled": []}
    for profile, at in first.items():
        bought = any(at < o <= at + window for o in orders.get(profile, ()))
        arms[_arm(entered.get(profile, ()), at)].append(bought)
    out = [_arm_row(journey, arm, outcomes) for arm, outcomes in arms.items()]
    treated, held = arms["treatment"], arms["holdout"]
    control, against = (held, "holdout") if held else (arms["not_enrolled"], "not_enrolled")
    found = lift(sum(treated), len(treated), sum(control), len(control))
    out[0] |= {"against": against, "lift": found.lift, "lift_low": found.low,
               "lift_high": found.high, "causal": bool(held)}  # fmt: skip
    return out


def _arm(entered: Iterable[tuple[dt.datetime, bool]], at: dt.datetime) -> str:
    """The arm of the follow-up enrollment that the answer at ``at`` started, if any."""
    for when, holdout in entered:
        if abs(when - at) <= FOLLOW_UP_WITHIN:
            return "holdout" if holdout else "treatment"
    return "not_enrolled"


def _arm_row(journey: str, arm: str, outcomes: list[bool]) -> Row:
    n = len(outcomes)
    return {"journey": journey, "arm": arm, "detractors": n, "purchased": sum(outcomes),
            "purchase_rate": sum(outcomes) / n if n else None}  # fmt: skip
