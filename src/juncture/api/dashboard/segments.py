"""The Segments pages: every saved segment with its definition and size, its size over time
(entered and exited per refresh), the profiles that entered and exited it per day as they
happened over the last 30 days with the daily rates, its members, and a draft condition
counted as you write it (the same preview as ``POST /v1/segments/preview``: nothing saved)
and then saved (as ``POST /v1/segments``)."""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from juncture.api.dashboard import render
from juncture.api.dashboard.journeys import draft_text, problem_json, refused
from juncture.api.dashboard.overview import PERIODS, window
from juncture.api.dashboard.sources import Sources
from juncture.definitions import segments as segment_definitions
from juncture.errors import InvalidDefinition

MEMBERS: Final = 100
MOVES_PERIOD: Final = "30d"  # entries and exits per day over the last 30 days
DAYS: Final = 30
MAX_DRAFT: Final = 1 << 16


def listing(sources: Sources) -> list[dict[str, Any]]:
    now, store = sources.clock.now(), sources.segments.store
    return [
        {**s.to_json(), "stored": store.stored_size(s.saved.segment_id)}
        for s in sources.segments.listing(now)
    ]


def detail(sources: Sources, segment_id: str) -> dict[str, Any]:
    ops, now = sources.segments, sources.clock.now()
    saved = ops.store.get(segment_id)
    history = list(reversed(ops.history(segment_id)))  # oldest first, for the chart
    members = ops.store.stored_members(segment_id, limit=MEMBERS)
    since, until, _ = window(sources, PERIODS[MOVES_PERIOD])
    moves = sources.store.dashboard.segment_moves(segment_id, since, until)
    return {
        **ops.summary(saved, now).to_json(),
        "source": saved.source,
        "stored": ops.store.stored_size(segment_id),
        "history": history,
        "members": [{"profileId": p, "since": at} for p, at in members],
        "moves": [{"day": d, "entered": i, "exited": o} for d, i, o in moves],
        "movesSince": since, "movesUntil": until,
        "enteredPerDay": round(sum(i for _, i, _ in moves) / DAYS, 2),
        "exitedPerDay": round(sum(o for _, _, o in moves) / DAYS, 2),
    }  # fmt: skip


def preview(sources: Sources, text: str) -> dict[str, Any]:
    """A draft's size now, or its problems with their lines."""
    try:
        segment, size = sources.segments.preview(text, "draft.yaml", sources.clock.now())
    except segment_definitions.InvalidSegment as exc:
        return {"valid": False, "problems": [problem_json(p) for p in exc.problems]}
    except InvalidDefinition as exc:
        return {"valid": False, "problems": [{"line": 0, "path": "", "message": exc.message}]}
    return {"valid": True, "id": segment.id, "size": size}


def router(sources: Sources) -> APIRouter:
    api = APIRouter(include_in_schema=False)

    @api.get("/app/segments")
    async def segments(request: Request) -> Response:
        rows = await run_in_threadpool(listing, sources)
        return render.page(request, "segments.html", segments=rows)

    @api.get("/app/segments/{segment_id}")
    async def segment(request: Request, segment_id: str) -> Response:
        found = await run_in_threadpool(detail, sources, segment_id)
        return render.page(request, "segment.html", segment=found)

    @api.post("/app/api/segments/preview")
    async def count(request: Request) -> Response:
        text = await draft_text(request, MAX_DRAFT)
        return render.data(await run_in_threadpool(preview, sources, text))

    @api.post("/app/api/segments/apply")
    async def save(request: Request) -> Response:
        text = await draft_text(request, MAX_DRAFT)
        try:
            found = await run_in_threadpool(create, sources, text)
        except segment_definitions.InvalidSegment as exc:
            return refused(exc.problems)
        return render.data(found, 201)

    return api


def create(sources: Sources, text: str) -> dict[str, Any]:
    """Save the draft (replacing a segment with its id) and fill its members now, with
    Segment Entered for each, so segment-entry journeys start for them."""
    segment, done = sources.segments.apply(text, "dashboard.yaml", sources.clock.now())
    return {"id": segment.id, "size": done.size}
