"""``POST /v1/measure/dry-run`` (admin): a draft journey (the body, YAML or JSON, as ``POST
/v1/journeys`` takes it) run over the last ``days`` of recorded events without sending:
who would have entered, been messaged or suppressed (by reason), per day and per node. An
invalid draft is refused as ``POST /v1/journeys`` refuses it (422, the problems by line)."""

from __future__ import annotations

import datetime as dt
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from juncture.api import bodies, journeys
from juncture.api.errors import json_response
from juncture.definitions import journeys as journey_definitions
from juncture.runtime.clock import Clock
from juncture.runtime.measurement import Measurement

Days = Annotated[int, Query(ge=1, le=3650, description="Run over this many days back.")]
WindowDays = Annotated[
    int, Query(alias="windowDays", ge=1, le=365, description="Orders this soon after convert.")
]


def routes(api: APIRouter, measurement: Measurement, clock: Clock, body_timeout: float) -> None:
    """Add the dry-run route to the measurement router."""

    @api.post("/dry-run", openapi_extra=bodies.definition())
    async def dry_run(request: Request, days: Days = 30, window_days: WindowDays = 7) -> Response:
        text, filename = await journeys.definition(request, body_timeout)
        now = clock.now()
        run = partial(
            measurement.dry_run, text, filename, since=now - dt.timedelta(days=days), now=now,
            window=dt.timedelta(days=window_days),
        )  # fmt: skip
        try:
            found = await run_in_threadpool(run)
        except journey_definitions.InvalidJourney as exc:
            return journeys.invalid(exc)
        return json_response(found)
