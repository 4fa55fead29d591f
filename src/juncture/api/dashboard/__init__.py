"""The marketers' dashboard (``/app``): server-rendered pages over the same repositories and
operations as the JSON API, behind a session cookie got with the admin token.

Pages are Jinja2 templates (``templates/``); charts (Chart.js) and the journey graph
(Cytoscape.js with the dagre layout) are vendored, minified, under ``static/vendor`` by
``scripts/vendor-assets``, so nothing is fetched from the internet at run time.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import Depends, FastAPI
from starlette.staticfiles import StaticFiles

from juncture.api.dashboard import (
    customers,
    funnels,
    insights,
    journeys,
    kpi_reports,
    operations,
    overview,
    segments,
    session,
)
from juncture.api.dashboard.sources import Sources

__all__ = ["STATIC", "Sources", "install"]

STATIC = Path(__file__).parent / "static"


def install(app: FastAPI, sources: Sources, admin_token: str | None) -> None:
    """Serve the dashboard from ``app``: the login, every page, and the static assets."""
    sessions = session.Sessions(admin_token, sources.clock, sources.store.access)
    app.add_exception_handler(session.LoginRequired, session.to_login)
    app.mount("/app/static", StaticFiles(directory=STATIC), name="dashboard-static")
    app.include_router(session.router(sessions))
    signed_in = [Depends(sessions.require)]
    pages = (overview, journeys, customers, segments, operations, insights, funnels, kpi_reports)
    for module in pages:
        app.include_router(module.router(sources), dependencies=signed_in)
