"""Admin API for measurement (``Authorization: Bearer $JUNCTURE_ADMIN_TOKEN``).

``GET /v1/measure/journeys`` gives each journey's KPIs per arm, ``GET
/v1/measure/experiments`` every holdout and split as an experiment with the decision to take
and why (both as JSON, or CSV with ``format=csv``; ``journey`` narrows to one, ``windowDays``
is how long after entry an order converts). ``POST /v1/measure/clv`` fits the lifetime-value
models and writes each customer's ``clv`` trait (``dryRun=true`` writes nothing); ``GET
/v1/measure/plan`` sizes an experiment. Figures are as of now unless ``at`` is given.
``GET /v1/measure/kpis/{report}`` answers one KPI report (commerce, carts, customers,
retention, stages, stage-moves, journeys, attribution, messages, surveys, follow-up) per
``period`` over ``[since, until)``, for one ``segment`` or ``journey``, survey scores ``by``
segment, journey or store, as JSON or CSV. Funnels and paths are
in :mod:`juncture.api.funnels`, dry runs of draft journeys in :mod:`juncture.api.dry_run`.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from juncture.api import dry_run, funnels, reports
from juncture.api.auth import admin_only
from juncture.api.errors import json_response
from juncture.api.params import At, moment
from juncture.api.reports import Format, FormatQuery, Segment, Since, Until, csv_download
from juncture.core.measures import Breakdown, KpiReport, Period
from juncture.errors import BadInput
from juncture.runtime.clock import Clock
from juncture.runtime.measurement import Measurement, clv_summary, plan, to_csv
from juncture.store.kpis import KpiQuery

Journey = Annotated[str | None, Query(max_length=100, description="Only this journey.")]
WindowDays = Annotated[
    int,
    Query(alias="windowDays", ge=1, le=365, description="An order this soon after entry converts."),
]
SmallestLift = Annotated[
    float,
    Query(alias="smallestLift", gt=0, le=10, description="Relative lift worth finding."),
]


def router(
    measurement: Measurement, admin_token: str | None, clock: Clock, body_timeout: float = 10.0
) -> APIRouter:
    api = APIRouter(prefix="/v1/measure", dependencies=[admin_only(admin_token)], tags=["measure"])

    def now(at: dt.datetime | None) -> dt.datetime:
        return moment(at) if at is not None else clock.now()

    @api.get("/journeys")
    async def journeys(
        journey: Journey = None, window_days: WindowDays = 7, format: FormatQuery = Format.json,
        at: At = None,
    ) -> Response:  # fmt: skip
        found = await run_in_threadpool(
            partial(measurement.report, journey_id=journey, window=dt.timedelta(days=window_days)),
            now(at),
        )
        if format is Format.csv:
            return csv_download(to_csv(found.kpi_rows()), "journeys.csv")
        return json_response({"journeys": [k.to_json() for k in found.kpis.values()]})

    @api.get("/experiments")
    async def experiments(
        journey: Journey = None, window_days: WindowDays = 7, smallest_lift: SmallestLift = 0.1,
        format: FormatQuery = Format.json, at: At = None,
    ) -> Response:  # fmt: skip
        report = partial(
            measurement.report, journey_id=journey, window=dt.timedelta(days=window_days),
            smallest_lift=smallest_lift,
        )  # fmt: skip
        found = await run_in_threadpool(report, now(at))
        if format is Format.csv:
            return csv_download(to_csv(found.experiment_rows()), "experiments.csv")
        return json_response({"experiments": [r.to_json() for r in found.experiments]})

    _kpis(api, measurement)
    funnels.routes(api, measurement)
    dry_run.routes(api, measurement, clock, body_timeout)
    _clv(api, measurement, now)
    _plan(api)
    return api


def _kpis(api: APIRouter, measurement: Measurement) -> None:
    @api.get("/kpis/{report}")
    async def kpi_report(
        *,
        report: KpiReport, period: Period = Period.all, since: Since = None, until: Until = None,
        segment: Segment = None, journey: Journey = None, window_days: WindowDays = 7,
        by: Breakdown = Breakdown.all, format: FormatQuery = Format.json,
    ) -> Response:  # fmt: skip
        since, until = reports.span(since, until)
        query = KpiQuery(
            since=since, until=until, period=period, segment=segment, journey=journey,
            window=dt.timedelta(days=window_days), by=by,
        )  # fmt: skip
        rows = await run_in_threadpool(measurement.kpis, report, query)
        if format is Format.csv:
            return csv_download(to_csv(rows), f"{report.value}.csv")
        return json_response({"report": report.value, "period": period.value, "rows": rows})


def _clv(
    api: APIRouter, measurement: Measurement, now: Callable[[dt.datetime | None], dt.datetime]
) -> None:
    @api.post("/clv")
    async def lifetime_value(
        horizon_days: Annotated[float, Query(alias="horizonDays", ge=1, le=3650)] = 365.0,
        discount: Annotated[float, Query(ge=0, le=1, description="Per 30 days.")] = 0.0,
        dry_run: Annotated[bool, Query(alias="dryRun")] = False,
        at: At = None,
    ) -> Response:
        fit = partial(measurement.clv, write=not dry_run)
        scores = await run_in_threadpool(fit, now(at), horizon_days, discount)
        summary = clv_summary(scores)
        summary["written"] = 0 if dry_run else len(scores.profile_ids)
        return json_response(summary)


def _plan(api: APIRouter) -> None:
    @api.get("/plan")
    async def sizes(
        *,
        baseline: Annotated[float, Query(ge=1e-4, le=0.9999, description="The control's rate.")],
        lift: Annotated[float, Query(ge=1e-3, le=10, description="Relative lift to find.")] = 0.1,
        power: Annotated[float, Query(ge=0.5, le=0.999)] = 0.8,
        alpha: Annotated[float, Query(ge=1e-4, le=0.5)] = 0.05,
        ratio: Annotated[float, Query(ge=0.01, le=100)] = 1.0,
        per_day: Annotated[
            float | None,
            Query(alias="perDay", ge=0.01, le=1e9, description="Profiles entering a day."),
        ] = None,
    ) -> Response:
        if baseline * (1 + lift) >= 1:
            raise BadInput(
                "baseline * (1 + lift) must stay under 1", code="invalid_parameter",
                where="query.lift",
            )  # fmt: skip
        return json_response(
            plan(baseline, lift, power=power, alpha=alpha, ratio=ratio, per_day=per_day)
        )
