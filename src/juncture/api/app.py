"""The ASGI application: routers, error mapping, health and metrics."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from fastapi import Depends, FastAPI
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

import juncture
from juncture.api import (
    access,
    admin,
    audit,
    catalog,
    cors,
    dashboard,
    decide,
    deliveries,
    engine_status,
    errors,
    journey_metrics,
    journeys,
    measure,
    onsite,
    params,
    profiles,
    programmes,
    recommendations,
    segments,
    shoppers,
    tracking,
    tracking_plans,
    visits,
)
from juncture.api.auth import WriteKeys
from juncture.api.errors import error_response, json_response
from juncture.api.messages import install as install_messages
from juncture.channels.links import Links
from juncture.channels.templates import Templates
from juncture.errors import JunctureError, Unavailable
from juncture.metrics import Metrics
from juncture.runtime.campaigns import Campaigns
from juncture.runtime.catalog_events import Announcer
from juncture.runtime.catalog_visits import Visitors
from juncture.runtime.decide import Decider
from juncture.runtime.erasure import Eraser
from juncture.runtime.ingest import Ingestor
from juncture.runtime.limits import RateLimits
from juncture.runtime.measurement import Measurement
from juncture.runtime.preload import Preload
from juncture.runtime.recommend import Recommendations
from juncture.runtime.reports import Reports
from juncture.runtime.segments import Segments
from juncture.runtime.standing import Standing
from juncture.store.journeys import JourneyStore
from juncture.store.outbox import Outbox
from juncture.store.sql import SqlStore


def create_app(
    *,
    store: SqlStore,
    ingestor: Ingestor,
    keys: WriteKeys,
    metrics: Metrics,
    admin_token: str | None,
    outbox: Outbox,
    decider: Decider,
    journey_store: JourneyStore,
    segment_ops: Segments,
    campaigns: Campaigns,
    eraser: Eraser,
    measurement: Measurement,
    body_timeout: float,
    engine_behind: Standing | None,
    cors_origins: Iterable[str] = (),
    identity_secret: str | None = None,
    limits: RateLimits | None = None,
    recs: Recommendations | None = None,
    preload: Preload | None = None,
    links: Links | None = None,
    inbound_token: str | None = None,
    templates: Templates | None = None,
    sending: Sequence[str] = (),
) -> FastAPI:
    """The HTTP API. ``engine_behind`` is where the engine stands behind the log (the
    embedded one's engine, or the distributed log's workers; None: the engine runs inline,
    in each ingestion commit, or not at all); ``cors_origins`` the storefront
    origins whose browsers may call the tracking endpoints and ``/v1/decide``."""
    app = FastAPI(
        title="Juncture",
        version=juncture.__version__,
        description="Real-time customer journey orchestration. Segment-compatible tracking "
        "API under /v1; admin endpoints need `Authorization: Bearer <token>`.",
        dependencies=[Depends(params.no_nul)],
    )
    errors.install(app)
    app.state.access = store.access  # minted tokens, for the admin check
    app.add_middleware(
        audit.AuditTrail,
        access=store.access,
        clock=ingestor.clock,
        public=tracking.BROWSER_PATHS | {"/v1/import"},
    )
    app.add_middleware(cors.BrowserCors, origins=cors_origins, paths=tracking.BROWSER_PATHS)
    app.include_router(tracking.router(ingestor, keys, metrics, body_timeout, limits))
    app.include_router(admin.router(store, ingestor, admin_token))
    app.include_router(access.router(store.access, admin_token, ingestor.clock))
    app.include_router(profiles.router(store.profiles, admin_token, ingestor.clock, engine_behind))
    app.include_router(profiles.privacy_router(store, eraser, admin_token))
    app.include_router(segments.router(segment_ops, admin_token))
    app.include_router(tracking_plans.router(store, ingestor, admin_token))
    app.include_router(deliveries.router(outbox, decider.placements, admin_token))
    documented, plain = decide.routes(decider, keys, body_timeout, engine_behind, identity_secret)
    app.include_router(documented)
    app.router.routes.insert(0, plain)  # the hottest shopper path is matched first
    if recs is not None:  # early: pages ask for them, and routes are matched in this order
        app.include_router(
            recommendations.router(recs, keys, admin_token, identity_secret, engine_behind)
        )
    app.include_router(onsite.router())
    names = (templates or Templates()).names
    app.include_router(journeys.router(journey_store, admin_token, body_timeout, names))
    app.include_router(measure.router(measurement, admin_token, ingestor.clock, body_timeout))
    announce = Announcer(store.catalog, ingestor)  # catalogue changes as shoppers' events
    app.include_router(
        catalog.router(
            store.catalog,
            store.programmes,
            admin_token,
            ingestor.clock,
            body_timeout,
            announce=announce,
        )
    )
    app.include_router(programmes.router(store.programmes, admin_token, ingestor.clock))
    if decider.touchpoints is not None:  # wish lists, cart links, store events, training
        people = Visitors(store.catalog, store.programmes, ingestor)
        app.include_router(
            shoppers.router(decider.touchpoints, people, admin_token, ingestor.clock)
        )
        app.include_router(visits.router(people, admin_token, ingestor.clock))
    install_messages(  # unsubscribe and inbound webhooks (no login), templates (admin)
        app,
        store,
        ingestor,
        signed=links,
        inbound_token=inbound_token,
        templates=templates,
        admin_token=admin_token,
        body_timeout=body_timeout,
        journeys=journey_store,
        campaigns=campaigns,
        sending=sending,
        keys=keys,
        engine_behind=engine_behind,
    )
    # the slow figures' last results in the database: one per report for every process
    reports = Reports(store.report_results)
    pages = dashboard.Sources(
        store, ingestor, segment_ops, measurement, engine_behind, eraser, reports
    )
    dashboard.install(app, pages, admin_token)  # the marketers' pages under /app
    journey_metrics.install(metrics.registry, journey_store)
    if engine_behind is not None:
        engine_status.install(metrics.registry, engine_behind, ingestor.clock)

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> Response:
        return json_response({"status": "ok"})

    @app.get("/readyz", tags=["operations"])
    async def readyz() -> Response:
        """Ready when the store answers and commits: after a failed commit, an empty one
        (a write that changes nothing) is tried, and until one works the answer is 503.
        With the engine behind the log, also while the engine is not running, fails, or is
        further behind than ``JUNCTURE_ENGINE_MAX_LAG``."""
        committer = ingestor.committer
        try:
            await run_in_threadpool(store.ping)
            if committer.failing is not None:
                await run_in_threadpool(committer.probe)
        except JunctureError as exc:
            return error_response(exc, {"message": f"commits fail: {exc.message}"})
        if (why := await engine_status.not_ready(engine_behind, ingestor.clock.now())) is not None:
            return error_response(why)
        if preload is not None and preload.pending:
            return error_response(Unavailable("the recommendation libraries are still loading"))
        return json_response({"status": "ready"})

    @app.get("/metrics", tags=["operations"])
    async def metrics_endpoint() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app
