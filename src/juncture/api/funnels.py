"""Journey mapping on the measurement API (admin): ``POST /v1/measure/funnel`` counts an
ordered funnel of events (a body: the steps with the properties each must carry), ``GET
/v1/measure/paths`` what profiles did after one event (up to another), as Sankey data, and
``GET /v1/measure/touchpoints`` the touchpoint map (one person's touches in order with their
stage, or per stage the channels and touchpoints customers met). As JSON, or CSV with
``format=csv``."""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from juncture.api.errors import json_response
from juncture.api.reports import Format, FormatQuery, Segment, Since, Until, csv_download, span
from juncture.core.measures import Period
from juncture.runtime.measurement import Measurement, to_csv
from juncture.store.funnels import Step
from juncture.store.kpis import KpiQuery

NO_NUL = r"^[^\x00]*$"  # PostgreSQL's text cannot hold NUL: refused here, not a 500 there
Name = Annotated[str, Field(min_length=1, max_length=200, pattern=NO_NUL)]
Value = Annotated[str, Field(max_length=1000, pattern=NO_NUL)]


class FunnelStep(BaseModel):
    event: Name
    where: dict[Name, Value | float] = Field(
        default_factory=dict, max_length=20,
        description="Properties the event must carry, with these values.",
    )  # fmt: skip


class FunnelRequest(BaseModel):
    steps: list[FunnelStep] = Field(min_length=1, max_length=20)
    window_days: int = Field(
        7, alias="windowDays", ge=1, le=365, description="Steps within this many days of the first."
    )
    since: dt.datetime | None = Field(None, description="First steps from this time.")
    until: dt.datetime | None = Field(None, description="First steps before this time.")
    segment: Name | None = Field(None, description="The segment's current members only.")
    segments: list[Name] = Field(
        default_factory=list, max_length=20, description="A funnel per segment (members now)."
    )
    period: Period = Field(Period.all, description="A funnel per day, week or month of entry.")


def routes(api: APIRouter, measurement: Measurement) -> None:
    """Add the funnel and path routes to the measurement router."""

    @api.post("/funnel")
    async def funnel(body: FunnelRequest, format: FormatQuery = Format.json) -> Response:
        since, until = span(body.since, body.until, "body")
        query = KpiQuery(
            since=since, until=until, period=body.period, segment=body.segment,
            window=dt.timedelta(days=body.window_days),
        )  # fmt: skip
        steps = [Step(s.event, s.where) for s in body.steps]
        rows = await run_in_threadpool(measurement.funnel, steps, query, body.segments)
        if format is Format.csv:
            return csv_download(to_csv(rows), "funnel.csv")
        return json_response({"steps": rows, "window_days": body.window_days})

    @api.get("/paths")
    async def paths(
        *,
        start: Annotated[str, Query(alias="from", min_length=1, max_length=200)],
        end: Annotated[str | None, Query(alias="to", max_length=200)] = None,
        window_days: Annotated[int, Query(alias="windowDays", ge=1, le=365)] = 7,
        max_steps: Annotated[int, Query(alias="maxSteps", ge=1, le=10)] = 5,
        min_profiles: Annotated[int, Query(alias="minProfiles", ge=1, le=1_000_000_000)] = 1,
        since: Since = None,
        until: Until = None,
        segment: Segment = None,
        format: FormatQuery = Format.json,
    ) -> Response:
        since, until = span(since, until)
        query = KpiQuery(
            since=since, until=until, segment=segment, window=dt.timedelta(days=window_days)
        )
        found = await run_in_threadpool(
            partial(measurement.paths, max_steps=max_steps, min_profiles=min_profiles),
            start, end, query,
        )  # fmt: skip
        if format is Format.csv:
            rows = [{**p, "steps": " > ".join(p["steps"])} for p in found["paths"]]
            return csv_download(to_csv(rows), "paths.csv")
        return json_response(found)

    @api.get("/touchpoints")
    async def touchpoints(
        *,
        profile_id: Annotated[str | None, Query(alias="profileId", max_length=64)] = None,
        since: Since = None,
        until: Until = None,
        segment: Segment = None,
        format: FormatQuery = Format.json,
    ) -> Response:
        since, until = span(since, until)
        query = KpiQuery(since=since, until=until, segment=segment)
        rows = await run_in_threadpool(measurement.touchpoints, query, profile_id)
        if format is Format.csv:
            return csv_download(to_csv(rows), "touchpoints.csv")
        if profile_id is None:
            return json_response({"stages": rows})
        return json_response({"profile_id": profile_id, "touchpoints": rows})
