"""The Reports page in real headless Chromium over a seeded demo: every KPI report's table
shows the figures the measurement API answers for the same period, grouping and filters
(``GET /v1/measure/kpis/{report}``), each report has its chart, choosing another grouping
or segment changes them, with no console errors and no failed requests; a screenshot kept as
an artifact."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import httpx
import pytest

from tests.browser import seeded
from tests.browser.conftest import PageProblems, screenshot
from tests.conftest import ADMIN, LiveServer

pytestmark = pytest.mark.slow

REPORTS: Final = (
    "commerce", "carts", "customers", "retention", "stages", "stage-moves", "journeys",
    "attribution", "messages", "surveys", "follow-up",
)  # fmt: skip
DACH: Final = "dach-active"  # the id of the library segment the seeded demo saves
Row = dict[str, Any]


@pytest.fixture(scope="module")
def demo(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    url = seeded.demo_database(sqlite_template, tmp_path_factory.mktemp("reports"))
    yield from seeded.serve(url)


def percent(v: float) -> str:
    return f"{100 * v:,.1f}%"


def expected(row: Row, key: str, kind: str) -> str:
    """How the page should write ``row[key]`` (written here apart from the page's template:
    integers with thousands, money and other figures to 2 places, rates as percentages to
    one place, intervals as ``low to high``, a CSAT score as its share satisfied)."""
    v = row.get(key)
    csat = row.get("survey") == "csat"
    if kind in {"ci", "rate_ci", "score_ci"}:
        prefix = f"{key}_" if key else ""  # a survey's score interval: low, high
        lo, hi = row.get(f"{prefix}low"), row.get(f"{prefix}high")
        if lo is None or hi is None:
            return "-"
        if kind == "rate_ci" or csat:
            return f"{percent(lo)} to {percent(hi)}"
        return f"{lo:,.2f} to {hi:,.2f}" if kind == "ci" else f"{lo:,.1f} to {hi:,.1f}"
    if kind == "reasons":
        return ", ".join(f"{k}: {n:,}" for k, n in (v or {}).items()) or "-"
    if v is None:
        return "(no journey)" if key == "journey_id" else "-"
    if kind == "text":
        return {True: "yes", False: "no"}.get(v, str(v)) if isinstance(v, bool) else str(v)
    if kind == "int":
        return f"{v:,.0f}"
    if kind in {"money", "num"}:
        return f"{v:,.2f}"
    if kind == "rate" or (kind == "score" and csat):
        return percent(v)
    assert kind == "score", kind
    return f"{v:,.1f}"


def shown_span(page: Any) -> dict[str, str]:
    """The period the page says it shows, ``since`` and ``until``."""
    span = page.locator("#window")
    return {k: span.get_attribute(f"data-{k}") for k in ("since", "until")}


def answered(demo: LiveServer, page: Any, report: str, **params: str) -> list[Row]:
    """The API's rows for ``report`` over the period the page says it shows."""
    query = {**shown_span(page), **{k: v for k, v in params.items() if v}}
    r = httpx.get(f"{demo.url}/v1/measure/kpis/{report}", params=query, headers=ADMIN)
    assert r.status_code == 200, r.text
    assert r.json()["report"] == report
    rows: list[Row] = r.json()["rows"]
    return rows


def check_tables(
    demo: LiveServer, page: Any, surveys_by: str = "all", **params: str
) -> dict[str, list[Row]]:
    """Every report's table against the API's answer, cell by cell; the API's rows."""
    found = {}
    for report in REPORTS:
        rows = answered(demo, page, report, **params, by=surveys_by)
        found[report] = rows
        if report == "retention":
            check_cohorts(page, rows)
            continue
        shown = page.locator(f"#table-{report} tbody tr[data-row]")
        assert shown.count() == len(rows), report
        for i, row in enumerate(rows):
            for cell in shown.nth(i).locator("td").all():
                key, kind = cell.get_attribute("data-key"), cell.get_attribute("data-kind")
                assert cell.inner_text().strip() == expected(row, key, kind), (report, i, key)
    return found


def check_headline(demo: LiveServer, page: Any, **params: str) -> None:
    """The tiles: the whole period's figures, as the API answers them with ``period=all``."""
    tiles = page.locator("#headline [data-report]")
    assert tiles.count() == 8
    for tile in tiles.all():
        report, key = tile.get_attribute("data-report"), tile.get_attribute("data-key")
        survey = tile.get_attribute("data-survey")
        rows = answered(demo, page, report, **{**params, "period": "all"})
        rows = [r for r in rows if survey is None or r["survey"] == survey]
        want = expected(rows[0], key, tile.get_attribute("data-kind")) if rows else "-"
        assert tile.inner_text() == want, (report, key, survey)


def check_cohorts(page: Any, rows: list[Row]) -> None:
    table = page.locator("#cohorts")
    assert table.locator("tbody tr[data-cohort]").count() == len({r["cohort"] for r in rows})
    for r in rows:
        line = table.locator(f"tr[data-cohort='{r['cohort']}']")
        assert line.locator("[data-key=customers]").inner_text() == f"{r['customers']:,}"
        assert line.locator(f"[data-month='{r['month']}']").inner_text() == percent(r["rate"])


def chosen(page: Any, select: str, value: str) -> None:
    """Choose ``value`` in ``select``: the page reloads with it (and waits for the figures)."""
    page.select_option(select, value)
    page.wait_for_url(f"**{select[1:]}={value}**")
    page.wait_for_selector("#computed", timeout=60_000)  # a busy machine: it reloads till ready


def test_reports_show_the_apis_figures_for_the_chosen_period_and_grouping(
    page: Any, page_problems: PageProblems, demo: LiveServer
) -> None:
    seeded.sign_in(page, demo.url, "/app/reports")
    page.wait_for_selector("#computed", timeout=60_000)  # a busy machine: it reloads till ready
    assert "ends at the newest event" in page.locator("#window").inner_text()
    by_day = check_tables(demo, page, period="day")
    check_headline(demo, page)
    assert (
        page.locator("#headline [data-key=orders]").inner_text()
        == f"{sum(r['orders'] for r in by_day['commerce']):,}"
    )
    for report in ("commerce", "carts", "customers", "stages", "stage-moves", "journeys",
                   "attribution", "messages", "surveys", "retention"):  # fmt: skip
        assert by_day[report], f"the demo has {report}"  # so the comparisons compare something
    assert len(by_day["commerce"]) > 3  # a week of days
    # each report has its chart, drawn by Chart.js; the orders plotted are the API's
    for report in REPORTS:
        drawn = page.evaluate("id => Chart.getChart(id) ? 1 : 0", f"chart-{report}")
        assert drawn, report
    plotted = page.evaluate("Chart.getChart('chart-commerce').data.datasets[0].data")
    assert plotted == [r["orders"] for r in by_day["commerce"]]
    intervals = page.evaluate("Chart.getChart('chart-surveys').data.datasets[0].data")
    nps = [r for r in by_day["surveys"] if r["survey"] == "nps" and r["low"] is not None]
    assert [x for x in intervals if x] == [[r["low"], r["high"]] for r in nps]
    # each report downloads as the API's CSV of the same period and choice
    for report in ("commerce", "messages", "surveys"):
        link = page.locator(f"#report-{report} a.csv")
        got = page.request.get(demo.url + link.get_attribute("href"))
        assert got.status == 200, report
        assert got.headers["content-type"].startswith("text/csv")
        query = {**shown_span(page), "period": "day", "format": "csv"}
        r = httpx.get(f"{demo.url}/v1/measure/kpis/{report}", params=query, headers=ADMIN)
        assert got.text() == r.text, report
    screenshot(page, "dashboard-reports")
    screenshot(page, "dashboard-reports-top", full_page=False)

    chosen(page, "#group", "week")
    by_week = check_tables(demo, page, period="week")
    assert len(by_week["commerce"]) < len(by_day["commerce"])
    assert sum(r["orders"] for r in by_week["commerce"]) == sum(
        r["orders"] for r in by_day["commerce"]
    )

    chosen(page, "#segment", DACH)
    members = check_tables(demo, page, period="week", segment=DACH)
    check_headline(demo, page, segment=DACH)
    standing = sum(r["profiles"] for r in members["stages"])  # the members, where they stand
    assert 0 < standing < sum(r["profiles"] for r in by_week["stages"])
    assert sum(r["orders"] for r in members["commerce"]) <= by_week["commerce"][0]["orders"]

    chosen(page, "#segment", "")  # everyone again
    chosen(page, "#surveys_by", "journey")
    chosen(page, "#journey", "cart_abandonment")
    narrowed = check_tables(demo, page, "journey", period="week", journey="cart_abandonment")
    assert {r["journey_id"] for r in narrowed["messages"]} == {"cart_abandonment"}
    assert {r["group"] for r in narrowed["surveys"]} != {"all"}
    page_problems.assert_none()


def test_a_choice_the_reports_do_not_know_is_refused_with_where(
    page: Any, page_problems: PageProblems, demo: LiveServer
) -> None:
    seeded.sign_in(page, demo.url, "/app/reports?period=7d&group=month")
    page.wait_for_selector("#computed", timeout=60_000)
    assert page.locator("#group").input_value() == "month"
    refused = (
        ("group=hour", "group"), ("period=2d", "period"), ("segment=nobody", "segment"),
        ("journey=nowhere", "journey"), ("surveys_by=planet", "surveys_by"),
    )  # fmt: skip
    for query, where in refused:
        r = page.request.get(f"{demo.url}/app/reports?{query}")
        assert r.status == 400, query
        assert r.json()["where"] == where
    r = page.request.get(f"{demo.url}/app/api/reports/funnels.csv")
    assert r.status == 400
    assert r.json()["where"] == "report"
    page_problems.assert_none()
