"""The Reports page: every KPI report of the measurement (``GET /v1/measure/kpis/{report}``,
``juncture measure kpis``) over a chosen period, grouped by day, week or month, for one
segment's members or one journey, survey scores per segment, journey or store: orders and
revenue, carts abandoned and recovered, repeat customers, retention by acquisition cohort,
stages and their moves, journeys against their holdouts, last-touch attribution, messages
per journey node, NPS and CSAT with their intervals and response rates, and the detractor
follow-up.

The reports read every order, event and message of the period, seconds on millions of
events: the page answers from the last result for its choice
(:class:`juncture.runtime.reports.Reports`), computed in the background and again when it
is five minutes old, and says how old it is; the first ask for a new choice waits a moment
for it and, when it takes longer, says it is being computed and reloads itself."""

from __future__ import annotations

import datetime as dt
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Final

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from juncture.api.dashboard import render
from juncture.api.dashboard.overview import Period as Range
from juncture.api.dashboard.overview import window
from juncture.api.dashboard.sources import Sources
from juncture.core.measures import Breakdown, KpiReport, Period
from juncture.errors import BadInput
from juncture.runtime.measurement import to_csv
from juncture.store.kpis import KpiQuery, Row

DAY: Final = 86400
RANGES: Final = {
    r.name: r
    for r in (
        Range("7d", "Last 7 days", dt.timedelta(days=7), DAY),
        Range("30d", "Last 30 days", dt.timedelta(days=30), DAY),
        Range("90d", "Last 90 days", dt.timedelta(days=90), DAY),
        Range("365d", "Last 365 days", dt.timedelta(days=365), DAY),
    )
}
DEFAULT_RANGE: Final = "30d"
GROUPS: Final = {
    Period.day: "By day", Period.week: "By week", Period.month: "By month",
    Period.all: "The whole period",
}  # fmt: skip
BREAKDOWNS: Final = {
    Breakdown.all: "All answers", Breakdown.segment: "Per segment",
    Breakdown.journey: "Per journey and arm", Breakdown.store: "Per store",
}  # fmt: skip
WINDOW: Final = dt.timedelta(days=7)
VERSION: Final = 2  # of what a result holds: one kept by another version is not read


@dataclass(frozen=True, slots=True)
class Column:
    """A column of a report's table: its row key, heading and how its figure reads
    (``text``, ``int``, ``money``, ``num`` with two places, ``rate`` as a percentage,
    ``ci`` and ``rate_ci``: the interval ``key_low`` to ``key_high``, ``score`` and
    ``score_ci``: a survey's score, NPS as is and CSAT's share as a percentage, and its
    interval ``low`` to ``high``; ``reasons``: counts by reason)."""

    key: str
    label: str
    kind: str = "int"


def _c(key: str, label: str, kind: str = "int") -> Column:
    return Column(key, label, kind)


PERIOD = _c("period", "Period", "text")
JOURNEY = _c("journey_id", "Journey", "text")
NODE = (_c("node_id", "Node", "text"), _c("channel", "Channel", "text"))


@dataclass(frozen=True, slots=True)
class Section:
    report: KpiReport
    title: str
    about: str
    columns: tuple[Column, ...]


SECTIONS: Final = (
    Section(
        KpiReport.commerce,
        "Orders and revenue",
        "Orders per period of the order, each once.",
        (
            PERIOD,
            _c("orders", "Orders"),
            _c("customers", "Customers"),
            _c("revenue", "Revenue", "money"),
            _c("units", "Units", "num"),
            _c("aov", "Average order", "money"),
            _c("units_per_order", "Units per order", "num"),
            _c("revenue_per_customer", "Revenue per customer", "money"),
        ),
    ),
    Section(
        KpiReport.carts,
        "Carts abandoned and recovered",
        "The engine's Cart Abandoned and Checkout Abandoned signals per period; recovered: "
        "the same customer ordered within 7 days after.",
        (
            PERIOD,
            _c("cart_abandoned", "Carts abandoned"),
            _c("cart_recovered", "Recovered"),
            _c("cart_recovery_rate", "Recovery rate", "rate"),
            _c("checkout_abandoned", "Checkouts abandoned"),
            _c("checkout_recovered", "Recovered"),
            _c("checkout_recovery_rate", "Recovery rate", "rate"),
            _c("checkouts_started", "Checkouts started"),
            _c("orders", "Orders"),
            _c("cart_abandonment_rate", "Cart abandonment", "rate"),
            _c("checkout_abandonment_rate", "Checkout abandonment", "rate"),
        ),
    ),
    Section(
        KpiReport.customers,
        "Repeat customers",
        "Per period of each customer's first order in the period: who ordered twice or "
        "more, and the days between one order and the next.",
        (
            PERIOD,
            _c("customers", "Customers"),
            _c("repeat_customers", "Repeat customers"),
            _c("repeat_rate", "Repeat rate", "rate"),
            _c("gaps", "Repeat orders"),
            _c("mean_days_between_orders", "Mean days between", "num"),
            _c("median_days_between_orders", "Median days between", "num"),
        ),
    ),
    Section(
        KpiReport.retention,
        "Retention by cohort",
        "Customers acquired in each month of the period (their first order ever), and the "
        "share of them who ordered again each month after.",
        (
            _c("cohort", "Cohort", "text"),
            _c("month", "Month"),
            _c("customers", "Customers"),
            _c("active", "Ordered"),
            _c("rate", "Retained", "rate"),
        ),
    ),
    Section(
        KpiReport.stages,
        "Customers per stage",
        "Where customers stand now.",
        (
            _c("stage", "Stage", "text"),
            _c("profiles", "Customers"),
        ),
    ),
    Section(
        KpiReport.stage_moves,
        "Stage moves",
        "Journey Stage Changed per period.",
        (
            PERIOD,
            _c("from", "From", "text"),
            _c("to", "To", "text"),
            _c("profiles", "Customers"),
            _c("moves", "Moves"),
        ),
    ),
    Section(
        KpiReport.journeys,
        "Journeys against their holdouts",
        "Per journey, arm and period of entry: converted is an order within 7 days of "
        "entering; extra conversions and revenue against the holdout with their 95% "
        "intervals.",
        (
            JOURNEY,
            _c("arm", "Arm", "text"),
            PERIOD,
            _c("profiles", "Entered"),
            _c("goal_reached", "Goal reached"),
            _c("goal_rate", "Goal rate", "rate"),
            _c("converted", "Converted"),
            _c("conversion_rate", "Conversion", "rate"),
            _c("orders", "Orders"),
            _c("revenue", "Revenue", "money"),
            _c("revenue_per_profile", "Revenue per customer", "money"),
            _c("incremental_conversions", "Extra conversions", "num"),
            _c("incremental_conversions", "95% interval", "ci"),
            _c("incremental_revenue", "Extra revenue", "money"),
            _c("incremental_revenue", "95% interval", "ci"),
        ),
    ),
    Section(
        KpiReport.attribution,
        "Last-touch attribution",
        "Orders credited to the latest message delivered to the customer within 7 days "
        "before (no journey: messages sent outside journeys). Last touch credits orders "
        "that would have come anyway; the journeys' extra conversions are the honest "
        "figures.",
        (
            JOURNEY,
            *NODE,
            PERIOD,
            _c("orders", "Orders"),
            _c("revenue", "Revenue", "money"),
        ),
    ),
    Section(
        KpiReport.messages,
        "Messages per journey node",
        "Per journey, node, channel and period the message was made; rates over the "
        "customers delivered to.",
        (
            JOURNEY,
            *NODE,
            PERIOD,
            _c("messages", "Messages"),
            _c("delivered", "Delivered"),
            _c("suppressed", "Suppressed"),
            _c("failed", "Failed"),
            _c("pending", "Pending"),
            _c("profiles_delivered", "Customers reached"),
            _c("opened", "Opened"),
            _c("clicked", "Clicked"),
            _c("unsubscribed", "Unsubscribed"),
            _c("delivery_rate", "Delivery", "rate"),
            _c("open_rate", "Open", "rate"),
            _c("click_rate", "Click", "rate"),
            _c("unsubscribe_rate", "Unsubscribe", "rate"),
            _c("suppressed_by_reason", "Suppressed why", "reasons"),
        ),
    ),
    Section(
        KpiReport.surveys,
        "Surveys: NPS and CSAT",
        "NPS from -100 to 100 with its 95% interval; CSAT the share satisfied (4 or 5 of "
        "5) with Wilson's interval; response rate: NPS over customers who ordered in the "
        "period, CSAT over support tickets opened.",
        (
            PERIOD,
            _c("group", "Group", "text"),
            _c("survey", "Survey", "text"),
            _c("answers", "Answers"),
            _c("promoters", "Promoters"),
            _c("passives", "Passives"),
            _c("detractors", "Detractors"),
            _c("satisfied", "Satisfied"),
            _c("mean", "Mean score", "num"),
            _c("score", "Score", "score"),
            _c("", "95% interval", "score_ci"),
            _c("asked", "Asked"),
            _c("respondents", "Respondents"),
            _c("response_rate", "Response rate", "rate"),
            _c("response_rate", "95% interval", "rate_ci"),
        ),
    ),
    Section(
        KpiReport.follow_up,
        "Detractor follow-up",
        "Detractors (0 to 6) per arm of the follow-up journey and who ordered within 7 days "
        "after answering; the lift is causal only against a holdout.",
        (
            _c("journey", "Journey", "text"),
            _c("arm", "Arm", "text"),
            _c("detractors", "Detractors"),
            _c("purchased", "Purchased"),
            _c("purchase_rate", "Purchase rate", "rate"),
            _c("against", "Against", "text"),
            _c("lift", "Lift", "rate"),
            _c("lift", "95% interval", "rate_ci"),
            _c("causal", "Causal", "text"),
        ),
    ),
)


def percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:,.1f}%"


def _two(value: float) -> str:
    return f"{value:,.2f}"


def _one(value: float) -> str:
    return f"{value:,.1f}"


FORMATS: Final[dict[str, Callable[[Any], str]]] = {
    "text": lambda v: ("yes" if v else "no") if isinstance(v, bool) else str(v),
    "int": lambda v: f"{v:,.0f}",
    "money": _two,
    "num": _two,
    "rate": percent,
}


def _interval(row: Row, column: Column) -> str:
    csat = row.get("survey") == "csat"
    prefix = "" if column.kind == "score_ci" else f"{column.key}_"  # a score's: low, high
    low, high = row.get(f"{prefix}low"), row.get(f"{prefix}high")
    if low is None or high is None:
        return "-"
    write = {"ci": _two, "rate_ci": percent, "score_ci": percent if csat else _one}[column.kind]
    return f"{write(low)} to {write(high)}"


def cell(row: Row, column: Column) -> str:
    """How a figure reads in its table (formatted here rather than in the template: a page
    of a few thousand cells renders several times faster)."""
    v, kind = row.get(column.key), column.kind
    if kind.endswith("ci"):
        return _interval(row, column)
    if kind == "reasons":
        return ", ".join(f"{reason}: {n:,}" for reason, n in (v or {}).items()) or "-"
    if v is None:
        return "(no journey)" if column.key == "journey_id" else "-"
    if kind == "score":
        return percent(v) if row.get("survey") == "csat" else _one(v)  # NPS as is
    return FORMATS[kind](v)


HEADLINE_REPORTS: Final = (KpiReport.commerce, KpiReport.carts, KpiReport.customers,
                           KpiReport.surveys)  # fmt: skip
HEADLINE: Final = (  # report, label, column, kind, survey
    ("commerce", "Orders", "orders", "int", None),
    ("commerce", "Revenue", "revenue", "money", None),
    ("commerce", "Average order", "aov", "money", None),
    ("carts", "Carts recovered", "cart_recovery_rate", "rate", None),
    ("carts", "Checkouts recovered", "checkout_recovery_rate", "rate", None),
    ("customers", "Repeat customers", "repeat_rate", "rate", None),
    ("surveys", "NPS", "score", "score", "nps"),
    ("surveys", "CSAT satisfied", "score", "score", "csat"),
)


@dataclass(frozen=True, slots=True)
class Choice:
    """What the page shows: the period, the grouping in time, and the filters."""

    period: str = DEFAULT_RANGE
    group: Period = Period.day
    segment: str | None = None
    journey: str | None = None
    surveys_by: Breakdown = Breakdown.all

    def query(self) -> str:
        """The choice as the page's query string (for links that keep it)."""
        found = {
            "period": self.period, "group": self.group.value, "segment": self.segment,
            "journey": self.journey, "surveys_by": self.surveys_by.value,
        }  # fmt: skip
        return urllib.parse.urlencode({k: v for k, v in found.items() if v})

    def key(self) -> tuple[Any, ...]:
        return ("kpi reports", VERSION, self.period, self.group.value, self.segment, self.journey,
                self.surveys_by.value)  # fmt: skip


def _enum(kind: Any, value: str | None, default: Any, where: str) -> Any:
    if not value:
        return default
    try:
        return kind(value)
    except ValueError:
        allowed = ", ".join(m.value for m in kind)
        raise BadInput(
            f"`{where}` is one of {allowed}", code="invalid_parameter", where=where
        ) from None


def choice_of(sources: Sources, q: Any) -> tuple[Choice, dict[str, dict[str, str]]]:
    """The page's choice from its query string, checked, and the segments and journeys a
    person may choose from (their names by id)."""
    period = q.get("period") or DEFAULT_RANGE
    if period not in RANGES:
        raise BadInput(f"`period` is one of {', '.join(RANGES)}", code="invalid_parameter",
                       where="period")  # fmt: skip
    options = {
        "segments": {s.segment_id: s.name for s in sources.store.segments.list()},
        "journeys": {j.spec.id: j.spec.name for j in sources.store.journeys.list()},
    }
    segment, journey = q.get("segment") or None, q.get("journey") or None
    for value, name in ((segment, "segment"), (journey, "journey")):
        if value is not None and value not in options[f"{name}s"]:
            raise BadInput(f"no {name} {value!r}", code="invalid_parameter", where=name)
    found = Choice(
        period=period, group=_enum(Period, q.get("group"), Period.day, "group"),
        segment=segment, journey=journey,
        surveys_by=_enum(Breakdown, q.get("surveys_by"), Breakdown.all, "surveys_by"),
    )  # fmt: skip
    return found, options


def figures(sources: Sources, choice: Choice) -> dict[str, Any]:
    """Every report's rows over the choice's period, as the API answers them."""
    since, until, moved = window(sources, RANGES[choice.period])
    query = KpiQuery(
        since=since, until=until, period=choice.group, segment=choice.segment,
        journey=choice.journey, window=WINDOW, by=choice.surveys_by,
    )  # fmt: skip
    measurement = sources.measurement
    found = {s.report.value: measurement.kpis(s.report, query) for s in SECTIONS}
    whole = replace(query, period=Period.all, by=Breakdown.all)
    tiles = {r.value: measurement.kpis(r, whole) for r in HEADLINE_REPORTS}
    return {"since": since, "until": until, "moved": moved, "reports": found, "headline": tiles}


def headline(found: dict[str, list[Row]]) -> list[dict[str, Any]]:
    """The tiles over the page: the whole period's figures of a few reports (a survey's
    score per survey), each with the report, row and column it comes from."""
    tiles = []
    for report, label, key, kind, survey in HEADLINE:
        rows = [r for r in found[report] if survey is None or r.get("survey") == survey]
        row = rows[0] if rows else {}
        column = Column(key, label, kind)
        text = cell(row, column) if row else "-"
        tiles.append({"report": report, "survey": survey, "column": column, "text": text})
    return tiles


def answer(sources: Sources, choice: Choice) -> dict[str, Any]:
    """The page's data: the last result for this choice (``ready``), with its age, or
    ``ready`` false while it is computed."""
    found = sources.reports.get(choice.key(), lambda: figures(sources, choice))
    if found is None:
        return {"ready": False}
    return {
        **found.value, "ready": True, "age_s": round(found.age_s()), "took_s": found.took_s,
        "refreshing": found.refreshing,
    }  # fmt: skip


def cohorts(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The retention rows as a cohort table: each cohort's size and its rows by month."""
    table: dict[str, dict[str, Any]] = {}
    for r in rows:
        cohort = table.setdefault(r["cohort"], {"customers": r["customers"], "months": {}})
        cohort["months"][r["month"]] = r
    months = max((r["month"] for r in rows), default=-1) + 1
    return {"cohorts": table, "months": list(range(months))}


def router(sources: Sources) -> APIRouter:
    api = APIRouter(include_in_schema=False)

    @api.get("/app/reports")
    async def reports(request: Request) -> Response:
        choice, options = await run_in_threadpool(choice_of, sources, request.query_params)
        found = await run_in_threadpool(answer, sources, choice)
        retention = cohorts(found["reports"]["retention"]) if found["ready"] else None
        tiles = headline(found["headline"]) if found["ready"] else []
        return render.page(
            request, "reports.html", data=found, choice=choice, options=options,
            sections=SECTIONS, ranges=RANGES.values(), groups=GROUPS, breakdowns=BREAKDOWNS,
            retention=retention, tiles=tiles, cell=cell, percent=percent,
        )  # fmt: skip

    @api.get("/app/api/reports/{report}.csv")
    async def download(request: Request, report: str) -> Response:
        if report not in {s.report.value for s in SECTIONS}:
            raise BadInput(f"no report {report!r}", code="invalid_parameter", where="report")
        choice, _ = await run_in_threadpool(choice_of, sources, request.query_params)
        found = await run_in_threadpool(answer, sources, choice)
        if not found["ready"]:
            return render.problem(503, "computing", "the reports are being computed: ask again")
        text = to_csv(found["reports"][report])
        name = f"{report}-{choice.group.value}-{found['since'][:10]}-{found['until'][:10]}.csv"
        return Response(text, media_type="text/csv", headers={
            **render.HEADERS, "Content-Disposition": f'attachment; filename="{name}"',
        })  # fmt: skip

    return api
