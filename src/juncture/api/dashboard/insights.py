"""The Experiments and Catalogue pages: every journey's KPIs per arm and every holdout and
split judged as an experiment (the measurement of ``/v1/measure``), and the health of the
retailer's tables (rows, when each last changed, the last imports with the rows they
refused, the latest catalogue changes) with how often each on-site touchpoint answered and
what it led to (clicks, orders after them, what its buttons did: computed in the background,
as the measurement).

The measurement reads every enrollment and every customer's orders, seconds on a million
profiles: the Experiments page, the Journeys list's headline results and a journey's
experiments answer from its last result (:func:`measured`), computed in the background."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from juncture.api.dashboard import render
from juncture.api.dashboard.sources import Sources
from juncture.runtime import touchpoint_outcomes
from juncture.runtime.reports import Report
from juncture.store import catalog_imports


def measured(sources: Sources, journey_id: str | None = None) -> Report | None:
    """The last measurement of every journey (or of one), None while it is computed: its
    ``kpis`` by journey and its ``experiments``, as the measurement API answers them."""
    now = sources.clock.now

    def compute() -> dict[str, Any]:
        found = sources.measurement.report(now(), journey_id=journey_id)
        return {
            "kpis": {journey: k.to_json() for journey, k in found.kpis.items()},
            "experiments": [r.to_json() for r in found.experiments],
        }

    return sources.reports.get(("measurement", journey_id), compute)


def experiments(sources: Sources) -> dict[str, Any]:
    found = measured(sources)
    if found is None:
        return {"ready": False, "kpis": [], "experiments": []}
    return {
        "ready": True, "age_s": round(found.age_s()), "took_s": found.took_s,
        "kpis": list(found.value["kpis"].values()), "experiments": found.value["experiments"],
    }  # fmt: skip


def outcomes(sources: Sources) -> Report | None:
    """What each on-site touchpoint led to (:mod:`juncture.runtime.touchpoint_outcomes`,
    the figures of the demo's summary), most shown first; None while it is computed (it
    reads every click and order)."""

    def compute() -> list[dict[str, Any]]:
        store = sources.store
        found = touchpoint_outcomes.touchpoints(store.outbox, store.recommend)
        order = sorted(found.items(), key=lambda kv: (-kv[1]["shown"], kv[0]))
        return [{"touchpoint": kind, **row, "beyond": touchpoint_outcomes.beyond(row)}
                for kind, row in order]  # fmt: skip

    return sources.reports.get(("touchpoint outcomes",), compute)


def router(sources: Sources) -> APIRouter:
    api = APIRouter(include_in_schema=False)

    @api.get("/app/experiments")
    async def measured(request: Request) -> Response:
        found = await run_in_threadpool(experiments, sources)
        return render.page(request, "experiments.html", **found)

    @api.get("/app/catalogue")
    async def catalogue(request: Request) -> Response:
        reads = sources.store.dashboard
        found = await run_in_threadpool(reads.catalogue)
        used = await run_in_threadpool(reads.touchpoints)
        imports = await run_in_threadpool(sources.store.catalog_imports.recent)
        led = await run_in_threadpool(outcomes, sources)
        return render.page(
            request, "catalogue.html", tables=found, touchpoints=used, imports=imports,
            limits={"imports": catalog_imports.IMPORTS, "problems": catalog_imports.PROBLEMS},
            outcomes=None if led is None else led.value,
        )  # fmt: skip

    return api
