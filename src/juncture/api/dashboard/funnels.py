"""The Funnels and paths page: an ordered funnel of events (profiles per step, conversion from
the step before and from the first, the profiles lost, the time between steps) and what
profiles did after one event up to another, drawn as a Sankey; the measurement of
``POST /v1/measure/funnel`` and ``GET /v1/measure/paths`` over the chosen period.

Both read every event of the period, which takes minutes on millions of events: the page
answers from the last result for its period, steps, start and end
(:class:`juncture.runtime.reports.Reports`), computed in the background and again when it
is five minutes old, and says how old it is; the first ask for a new choice waits a moment
for it and, when it takes longer, says it is being computed and reloads itself."""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from juncture.api.dashboard import render
from juncture.api.dashboard.overview import PERIODS, period_of, window
from juncture.api.dashboard.sources import Sources
from juncture.errors import BadInput
from juncture.store.funnels import Step
from juncture.store.kpis import KpiQuery

STEPS: Final = ("Product Viewed", "Product Added", "Checkout Started", "Order Completed")
MOST_STEPS: Final = 8
PATH_STEPS: Final = 4  # events after the start shown in the Sankey
RARE: Final = 2  # an event fewer profiles did at a step is grouped as (other)


def steps_of(text: str | None) -> list[str]:
    """The funnel's events, comma-separated in the form (the retail funnel by default)."""
    if not text:
        return list(STEPS)
    found = [s.strip() for s in text.split(",") if s.strip()]
    if not 2 <= len(found) <= MOST_STEPS:
        raise BadInput(
            f"a funnel has 2 to {MOST_STEPS} steps", code="invalid_parameter", where="steps"
        )
    return found


def figures(
    sources: Sources, period: str | None, steps: list[str], start: str, end: str | None
) -> dict[str, Any]:
    chosen = period_of(period)
    since, until, moved = window(sources, chosen)
    query = KpiQuery(since=since, until=until, window=dt.timedelta(days=7))
    measurement = sources.measurement
    funnel = measurement.funnel([Step(s) for s in steps], query)
    paths = measurement.paths(start, end, query, max_steps=PATH_STEPS, min_profiles=RARE)
    return {
        "period": chosen.name, "since": since, "until": until, "moved": moved,
        "steps": steps, "funnel": funnel, "start": start, "end": end, "paths": paths,
    }  # fmt: skip


def answer(
    sources: Sources, period: str | None, steps: list[str], start: str, end: str | None
) -> dict[str, Any]:
    """The page's data: the last result for this choice (``ready``), with its age, or what
    was chosen and ``ready`` false while it is computed."""
    chosen = period_of(period).name
    key = ("funnels", chosen, tuple(steps), start, end)
    found = sources.reports.get(key, lambda: figures(sources, chosen, steps, start, end))
    if found is None:
        return {"ready": False, "period": chosen, "steps": steps, "start": start, "end": end}
    return {
        **found.value, "ready": True, "age_s": round(found.age_s()), "took_s": found.took_s,
        "refreshing": found.refreshing,
    }  # fmt: skip


def router(sources: Sources) -> APIRouter:
    api = APIRouter(include_in_schema=False)

    @api.get("/app/funnels")
    async def funnels(request: Request) -> Response:
        q = request.query_params
        steps = steps_of(q.get("steps"))
        start, end = q.get("start") or STEPS[0], q.get("end") or STEPS[-1]
        found = await run_in_threadpool(answer, sources, q.get("period"), steps, start, end)
        return render.page(request, "funnels.html", data=found, periods=PERIODS.values())

    return api
