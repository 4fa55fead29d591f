"""Admin API for tracking plans and data quality (``Authorization: Bearer $JUNCTURE_ADMIN_TOKEN``).

``PUT /v1/tracking-plans/{source}`` puts a plan in force for a source (``{"plan": <YAML or
JSON text>, "filename"}``; ``?dryRun=true`` only validates; 422 ``invalid_definition`` with
``file:line: path: message`` per problem), ``GET /v1/tracking-plans`` lists them,
``GET /v1/tracking-plans/{source}`` shows one with its text, ``DELETE`` removes it.
``GET /v1/sources/{source}/quality?since=&until=`` is the source's data-quality report.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from juncture.api import source_text
from juncture.api.auth import admin_only
from juncture.api.errors import json_response
from juncture.api.params import moment
from juncture.errors import BadInput, NotFound
from juncture.runtime.ingest import Ingestor
from juncture.runtime.quality import Quality, plan_json
from juncture.store.quality import QualityStore
from juncture.store.sql import SqlStore

DEFAULT_WINDOW = dt.timedelta(hours=24)


class PlanBody(BaseModel):
    plan: str = Field(description="The tracking plan as YAML or JSON text.")
    filename: str = Field(
        default="plan.yaml", description="Names the plan in errors; .json reads JSON."
    )


Since = Annotated[
    dt.datetime | None,
    Query(description="From this hour of receipt, ISO 8601 with a zone (default: 24 h ago)."),
]
Until = Annotated[
    dt.datetime | None, Query(description="Up to this time, ISO 8601 with a zone (default: now).")
]


def router(store: SqlStore, ingestor: Ingestor, admin_token: str | None) -> APIRouter:
    quality = Quality(QualityStore(store.engine), ingestor.plans, ingestor.tally)
    clock = ingestor.clock
    api = APIRouter(dependencies=[admin_only(admin_token)], tags=["data quality"])

    @api.put("/v1/tracking-plans/{source}")
    async def put_plan(
        source: str, body: PlanBody, dry_run: Annotated[bool, Query(alias="dryRun")] = False
    ) -> Response:
        source_text.check(body.plan, body.filename)
        plan = await run_in_threadpool(
            lambda: quality.save_plan(
                source, body.plan, body.filename, clock.now(), dry_run=dry_run
            )
        )
        return json_response({**plan_json(source, plan), "saved": not dry_run})

    @api.get("/v1/tracking-plans")
    async def list_plans() -> Response:
        stored = await run_in_threadpool(quality.store.plans)
        return json_response(
            {
                "plans": [
                    {"source": p.source, "filename": p.filename, "updatedAt": _iso(p.updated_at)}
                    for p in stored
                ]
            }
        )

    @api.get("/v1/tracking-plans/{source}")
    async def show_plan(source: str) -> Response:
        stored = await run_in_threadpool(quality.store.plan, source)
        plan = quality.plans.get(source)
        if stored is None or plan is None:
            raise NotFound(f"no tracking plan for source {source!r}", code="plan_not_found")
        return json_response(
            {
                **plan_json(source, plan),
                "filename": stored.filename,
                "plan": stored.text,
                "updatedAt": _iso(stored.updated_at),
            }
        )

    @api.delete("/v1/tracking-plans/{source}", status_code=204)
    async def delete_plan(source: str) -> Response:
        if not await run_in_threadpool(quality.drop_plan, source):
            raise NotFound(f"no tracking plan for source {source!r}", code="plan_not_found")
        return Response(status_code=204)

    @api.get("/v1/sources/{source}/quality")
    async def quality_report(source: str, since: Since = None, until: Until = None) -> Response:
        end = moment(until) if until is not None else clock.now()
        start = moment(since) if since is not None else end - DEFAULT_WINDOW
        if start >= end:
            raise BadInput(
                "`since` must be before `until`", code="invalid_parameter", where="since"
            )
        found = await run_in_threadpool(quality.report, source, start, end)
        return json_response(found)

    return api


def _iso(at: dt.datetime) -> str:
    return at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
