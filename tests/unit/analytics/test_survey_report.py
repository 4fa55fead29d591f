"""The survey report over rows built by hand: scores per period and group against the
statistics' own functions (tested against statsmodels), response rates, and the detractor
follow-up's arms."""

from __future__ import annotations

import datetime as dt

import pytest

from juncture.analytics import survey_report, surveys
from juncture.core.measures import Breakdown, Period
from juncture.store.surveys import SurveyRows, Touch

MON = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)  # a Monday
NPS = [10, 9, 9, 8, 7, 6, 3, 0]


def nps_rows() -> SurveyRows:
    touches = [Touch(f"p{i}", MON, "order", None, None) for i in range(10)]
    touches += [
        Touch(f"p{i}", MON + dt.timedelta(days=i), "nps", float(s), "s1" if i < 4 else None)
        for i, s in enumerate(NPS)
    ]
    touches += [Touch("p0", MON, "ticket", None, None), Touch("p1", MON, "ticket", None, None)]
    touches += [Touch("p0", MON + dt.timedelta(hours=3), "csat", 5.0, None)]
    enrollments = [("welcome", False, "p0", MON - dt.timedelta(days=1)),
                   ("welcome", True, "p1", MON - dt.timedelta(days=1)),
                   ("welcome", False, "p2", MON + dt.timedelta(days=30))]  # fmt: skip
    return SurveyRows(sorted(touches, key=lambda t: t.at), enrollments, [("vip", "p7")])


def test_nps_and_csat_with_their_intervals_and_response_rates() -> None:
    rows = survey_report.scores(nps_rows(), Period.all, Breakdown.all)
    nps = next(r for r in rows if r["survey"] == "nps")
    reference = surveys.nps(NPS)
    assert (nps["promoters"], nps["passives"], nps["detractors"]) == (3, 2, 3)
    assert (nps["score"], nps["low"], nps["high"]) == pytest.approx(
        (reference.score.value, reference.score.low, reference.score.high)
    )
    rate = surveys.wilson(8, 10)
    assert (nps["asked"], nps["respondents"]) == (10, 8)
    assert (nps["response_rate"], nps["response_rate_low"]) == pytest.approx((0.8, rate.low))
    csat = next(r for r in rows if r["survey"] == "csat")
    assert (csat["answers"], csat["satisfied"], csat["score"], csat["mean"]) == (1, 1, 1.0, 5.0)
    assert (csat["asked"], csat["response_rate"]) == (2, 0.5)


def test_by_week_store_segment_and_journey() -> None:
    weeks = survey_report.scores(nps_rows(), Period.week, Breakdown.all)
    by_week = {r["period"]: r["answers"] for r in weeks if r["survey"] == "nps"}
    assert by_week == {"2026-11-30": 7, "2026-12-07": 1}  # the 8th answer, a week on
    stores = survey_report.scores(nps_rows(), Period.all, Breakdown.store)
    answers = {r["group"]: r["answers"] for r in stores if r["survey"] == "nps"}
    assert answers == {"s1": 4, "(none)": 4}
    assert all(r["response_rate"] is None for r in stores)  # orders name no store
    vip = survey_report.scores(nps_rows(), Period.all, Breakdown.segment)
    assert [(r["group"], r["answers"], r["detractors"]) for r in vip if r["survey"] == "nps"] == [
        ("vip", 1, 1)
    ]
    journeys = survey_report.scores(nps_rows(), Period.all, Breakdown.journey)
    groups = {r["group"]: r["answers"] for r in journeys if r["survey"] == "nps"}
    # p2 entered after answering: not counted for the journey.
    assert groups == {"welcome:treatment": 1, "welcome:holdout": 1}


def test_the_follow_up_compares_detractors_by_arm() -> None:
    at = MON
    touches = [Touch(f"d{i}", at, "nps", 2.0, None) for i in range(6)]
    touches += [Touch("d0", at + dt.timedelta(days=2), "order", None, None),
                Touch("d1", at + dt.timedelta(days=2), "order", None, None),
                Touch("d3", at + dt.timedelta(days=40), "order", None, None)]  # fmt: skip
    enrollments = [("nps_follow_up", i >= 3, f"d{i}", at) for i in range(5)]
    rows = SurveyRows(touches, enrollments, [])
    found = survey_report.follow_up(rows, "nps_follow_up", dt.timedelta(days=30))
    arms = {r["arm"]: (r["detractors"], r["purchased"]) for r in found}
    assert arms == {"treatment": (3, 2), "holdout": (2, 0), "not_enrolled": (1, 0)}
    assert found[0]["against"] == "holdout" and found[0]["causal"] is True
    assert found[0]["lift"] == pytest.approx(2 / 3)
    without = SurveyRows(touches, [e for e in enrollments if not e[1]], [])
    first = survey_report.follow_up(without, "nps_follow_up", dt.timedelta(days=30))[0]
    assert first["against"] == "not_enrolled" and first["causal"] is False
