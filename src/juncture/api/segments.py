"""Admin API for segments (``Authorization: Bearer $JUNCTURE_ADMIN_TOKEN``).

``POST /v1/segments`` applies a definition (``{"source": <YAML or JSON text>, "filename"}``;
``?dryRun=true`` only validates), ``POST /v1/segments/preview`` sizes one without saving it,
``GET /v1/segments`` lists, ``GET /v1/segments/{id}`` shows, ``.../size``, ``.../members``
(paged by ``after``), ``.../export`` (CSV), ``.../history`` (size over time),
``POST .../refresh`` re-evaluates, ``POST /v1/segments/auto`` re-runs the clustering.
Applying and refreshing emit ``Segment Entered``/``Exited`` for the profiles they move,
through the engine, unless ``events=false``.
Evaluation is at wall time unless ``at`` (ISO 8601) is given.
"""

from __future__ import annotations

import io
from functools import partial
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from juncture.api import source_text
from juncture.api.auth import admin_only
from juncture.api.errors import json_response
from juncture.api.params import SEED_MAX, At, moment
from juncture.runtime.segments import Segments


class Definition(BaseModel):
    source: str = Field(description="The definition as YAML or JSON text.")
    filename: str = Field(
        default="segment.yaml", description="Names the definition in errors; .json reads JSON."
    )


class AutoRequest(BaseModel):
    k: int = Field(default=5, ge=2, le=50, description="How many clusters.")
    seed: int = Field(
        default=0, ge=0, le=SEED_MAX, description="Same data and seed, same clusters."
    )


Events = Annotated[
    bool,
    Query(
        description="Emit Segment Entered/Exited for the profiles moved (segment-entry "
        "journeys start for them); false fills the members silently."
    ),
]


def router(ops: Segments, admin_token: str | None) -> APIRouter:
    api = APIRouter(
        prefix="/v1/segments", dependencies=[admin_only(admin_token)], tags=["segments"]
    )
    _writes(api, ops)
    _reads(api, ops)
    return api


def _writes(api: APIRouter, ops: Segments) -> None:
    @api.post("")
    async def apply(
        body: Definition,
        at: At = None,
        dry_run: Annotated[bool, Query(alias="dryRun")] = False,
        events: Events = True,
    ) -> Response:
        source_text.check(body.source, body.filename)
        if dry_run:
            segment = await run_in_threadpool(ops.validate, body.source, body.filename)
            return json_response({"id": segment.id, "name": segment.name, "valid": True})
        segment, done = await run_in_threadpool(
            partial(ops.apply, events=events), body.source, body.filename, moment(at)
        )
        return json_response({"id": segment.id, "name": segment.name, "size": done.size}, 201)

    @api.post("/preview")
    async def preview(body: Definition, at: At = None) -> Response:
        source_text.check(body.source, body.filename)
        segment, size = await run_in_threadpool(ops.preview, body.source, body.filename, moment(at))
        return json_response({"id": segment.id, "size": size})

    @api.post("/auto")
    async def auto(body: AutoRequest | None = None, at: At = None) -> Response:
        wanted = body or AutoRequest()
        found = await run_in_threadpool(ops.auto, moment(at), wanted.k, wanted.seed)
        return json_response(
            {
                "segments": [
                    {
                        "id": f"auto-{c.index + 1}",
                        "name": c.name,
                        "description": c.description,
                        "size": len(c.members),
                        "features": dict(c.traits),
                    }
                    for c in found
                ]
            }
        )

    @api.post("/{segment_id}/refresh")
    async def refresh(segment_id: str, at: At = None, events: Events = True) -> Response:
        found = await run_in_threadpool(partial(ops.refresh, events=events), segment_id, moment(at))
        done = found[segment_id]
        return json_response(
            {
                "id": segment_id,
                "size": done.size,
                "entered": len(done.entered),
                "exited": len(done.exited),
            }
        )


def _reads(api: APIRouter, ops: Segments) -> None:
    @api.get("")
    async def listing(at: At = None, kind: str | None = None) -> Response:
        found = await run_in_threadpool(ops.listing, moment(at), kind)
        return json_response({"segments": [s.to_json() for s in found]})

    @api.get("/{segment_id}")
    async def show(segment_id: str, at: At = None) -> Response:
        saved = await run_in_threadpool(ops.store.get, segment_id)
        summary = await run_in_threadpool(ops.summary, saved, moment(at))
        return json_response({**summary.to_json(), "source": saved.source})

    @api.get("/{segment_id}/size")
    async def size(segment_id: str, at: At = None) -> Response:
        n = await run_in_threadpool(ops.size, segment_id, moment(at))
        return json_response({"id": segment_id, "size": n})

    @api.get("/{segment_id}/members")
    async def members(
        segment_id: str,
        at: At = None,
        after: Annotated[str, Query(description="The last profile id of the previous page")] = "",
        limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    ) -> Response:
        found = await run_in_threadpool(
            ops.members, segment_id, moment(at), after=after, limit=limit
        )
        following = found[-1] if len(found) == limit else None
        return json_response({"id": segment_id, "members": found, "next": following})

    @api.get("/{segment_id}/export")
    async def export(segment_id: str, at: At = None) -> Response:
        out = io.StringIO()
        await run_in_threadpool(ops.export, segment_id, moment(at), out)
        headers = {"Content-Disposition": f'attachment; filename="{segment_id}.csv"'}
        return Response(out.getvalue(), media_type="text/csv", headers=headers)

    @api.get("/{segment_id}/history")
    async def history(segment_id: str) -> Response:
        rows = await run_in_threadpool(ops.history, segment_id)
        return json_response(
            {
                "id": segment_id,
                "sizes": [
                    {
                        "at": r["at"].isoformat(),
                        **{k: int(r[k]) for k in ("size", "entered", "exited")},
                    }
                    for r in rows
                ],
            }
        )
