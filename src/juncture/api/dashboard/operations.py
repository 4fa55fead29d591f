"""The Data quality and deliveries page: each source's data quality (its tracking plan's
violations, unplanned events, duplicates, late events, device clocks off), the quarantine
(messages refused at ingestion, with the reason and where) with replay, and the delivery
log (messages by status, the newest first, dead letters with their last error) with retry;
the same operations as ``/v1/failed/replay`` and ``/v1/deliveries/retry``."""

from __future__ import annotations

from typing import Any, Final

import orjson
from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from juncture.api import body
from juncture.api.admin import failed_json
from juncture.api.dashboard import render
from juncture.api.dashboard.overview import PERIODS, window
from juncture.api.dashboard.sources import Sources
from juncture.api.deliveries import delivery_json
from juncture.errors import BadInput
from juncture.runtime.ingest import replay_failed
from juncture.runtime.quality import report
from juncture.store.quality import QualityStore

SHOWN: Final = 100
STATUSES: Final = ("pending", "sent", "shown", "deferred", "suppressed", "dead")


def quality(sources: Sources) -> list[dict[str, Any]]:
    """Each source's data-quality report (the tracking plan's violations, duplicates, late
    events, clock skew) over the last 30 days, ending at the newest event where nothing came
    since (as ``GET /v1/sources/{source}/quality`` answers it)."""
    tallies = QualityStore(sources.store.engine)  # as the tracking-plan API reads them
    since, until, _ = window(sources, PERIODS["30d"])
    plans = sources.ingestor.plans
    return [report(tallies, plans, s, since, until) for s in tallies.sources()]


def figures(sources: Sources, status: str | None) -> dict[str, Any]:
    store = sources.store
    return {
        "quality": quality(sources),
        "quarantine": [failed_json(r) for r in store.failed(status="failed", limit=SHOWN)],
        "counts": store.outbox.counts_by_status(),
        "status": status,
        "deliveries": [delivery_json(r) for r in store.dashboard.deliveries(status, SHOWN)],
        "dead": [delivery_json(r) for r in store.outbox.dead_letters(limit=SHOWN)],
    }


async def _ids(request: Request) -> list[int] | None:
    """``{"ids": [...]}`` from the page (None or absent: all of them)."""
    raw = await body.read(request, limit=1 << 16, timeout=30.0)
    try:
        ids = orjson.loads(raw or b"{}").get("ids")
    except (orjson.JSONDecodeError, AttributeError) as exc:
        raise BadInput('send {"ids": [1, 2]} or {}', code="invalid_body") from exc
    if ids is not None and not (isinstance(ids, list) and all(type(i) is int for i in ids)):
        raise BadInput("`ids` is a list of row ids", code="invalid_body", where="ids")
    return ids


def replay(sources: Sources, ids: list[int] | None) -> dict[str, Any]:
    store = sources.store
    rows = store.failed(status="failed", limit=10_000)
    if ids is not None:
        rows = [r for r in rows if r.id in set(ids)]
    done = replay_failed(store, sources.ingestor, rows)
    still = [{"id": i, "reason": why} for i, why in done.still_failing]
    return {"replayed": done.replayed, "stillFailing": still}


def router(sources: Sources) -> APIRouter:
    api = APIRouter(include_in_schema=False)

    @api.get("/app/data")
    async def data(request: Request) -> Response:
        status = request.query_params.get("status")
        status = status if status in STATUSES else None
        found = await run_in_threadpool(figures, sources, status)
        return render.page(request, "data.html", data=found, statuses=STATUSES)

    @api.post("/app/api/quarantine/replay")
    async def replay_rows(request: Request) -> Response:
        return render.data(await run_in_threadpool(replay, sources, await _ids(request)))

    @api.post("/app/api/deliveries/retry")
    async def retry(request: Request) -> Response:
        retried = await run_in_threadpool(sources.store.outbox.retry_dead, await _ids(request))
        return render.data({"retried": retried})

    return api
