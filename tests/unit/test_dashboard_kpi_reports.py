"""How the Reports page writes a report's figures (the cells the browser test cannot reach on
the seeded demo, which has no CSAT answers and no follow-up lift), and retention as a cohort
table."""

from __future__ import annotations

from juncture.api.dashboard.kpi_reports import SECTIONS, Column, cell, cohorts


def test_each_kind_of_figure_reads_as_a_person_expects() -> None:
    row = {"orders": 1234, "revenue": 1234.5, "rate": 0.1234, "causal": False, "node_id": None}
    assert cell(row, Column("orders", "", "int")) == "1,234"
    assert cell(row, Column("revenue", "", "money")) == "1,234.50"
    assert cell(row, Column("rate", "", "rate")) == "12.3%"
    assert cell(row, Column("causal", "", "text")) == "no"
    assert cell(row, Column("node_id", "", "text")) == "-"
    assert cell({"journey_id": None}, Column("journey_id", "", "text")) == "(no journey)"
    assert cell({}, Column("orders", "", "int")) == "-"  # a column this row has not


def test_intervals_and_survey_scores() -> None:
    nps = {"survey": "nps", "score": 12.5, "low": -20.24, "high": 45.0}
    csat = {"survey": "csat", "score": 0.8, "low": 0.614, "high": 0.916}
    assert cell(nps, Column("score", "", "score")) == "12.5"
    assert cell(nps, Column("", "", "score_ci")) == "-20.2 to 45.0"
    assert cell(csat, Column("score", "", "score")) == "80.0%"  # the share satisfied
    assert cell(csat, Column("", "", "score_ci")) == "61.4% to 91.6%"
    lift = {"lift": 0.05, "lift_low": -0.1, "lift_high": None}
    assert cell(lift, Column("lift", "", "rate_ci")) == "-"  # no interval without both ends
    extra = {"incremental_revenue_low": -1627.33, "incremental_revenue_high": 2985.15}
    assert cell(extra, Column("incremental_revenue", "", "ci")) == "-1,627.33 to 2,985.15"
    reasons = {"suppressed_by_reason": {"global_control": 1, "no_consent": 2000}}
    assert cell(reasons, Column("suppressed_by_reason", "", "reasons")) == (
        "global_control: 1, no_consent: 2,000"
    )
    assert cell({"suppressed_by_reason": {}}, Column("suppressed_by_reason", "", "reasons")) == "-"


def test_every_column_of_every_report_has_a_kind_the_page_writes() -> None:
    kinds = {"text", "int", "money", "num", "rate", "ci", "rate_ci", "score", "score_ci", "reasons"}
    for section in SECTIONS:
        for column in section.columns:
            assert column.kind in kinds, (section.report, column)
            assert cell({}, column) in {"-", "(no journey)"}


def test_retention_as_a_cohort_table() -> None:
    rows = [
        {"cohort": "2026-01-01", "month": 0, "customers": 10, "active": 10, "rate": 1.0},
        {"cohort": "2026-01-01", "month": 2, "customers": 10, "active": 3, "rate": 0.3},
        {"cohort": "2026-02-01", "month": 0, "customers": 4, "active": 4, "rate": 1.0},
    ]
    table = cohorts(rows)
    assert table["months"] == [0, 1, 2]
    assert list(table["cohorts"]) == ["2026-01-01", "2026-02-01"]
    january = table["cohorts"]["2026-01-01"]
    assert january["customers"] == 10
    assert sorted(january["months"]) == [0, 2]  # no one ordered in month 1: left empty
    assert cohorts([]) == {"cohorts": {}, "months": []}
