"""The HTTP face of ``juncture worker`` (``JUNCTURE_WORKER_PORT``): ``/healthz``,
``/readyz`` and ``/metrics``, so that a worker is watched like a server. Ready while it
has joined, its last round did not fail, and no partition of the log is further behind
than ``JUNCTURE_ENGINE_MAX_LAG``; its metrics are the events it applied and the lag of
every partition (the same gauges as the servers')."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import FastAPI
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.responses import Response

from juncture.api import engine_status
from juncture.api.errors import error_response, json_response
from juncture.errors import EngineNotReady
from juncture.metrics import Metrics
from juncture.runtime.clock import Clock
from juncture.runtime.log_lag import LogLag


def create_app(
    metrics: Metrics, lag: LogLag, unready: Callable[[], str | None], clock: Clock
) -> FastAPI:
    """The worker's app: ``unready`` says why the worker itself is not ready (None: it
    is); ``lag`` is the log's."""
    app = FastAPI(title="juncture worker", openapi_url=None, docs_url=None, redoc_url=None)
    engine_status.install(metrics.registry, lag, clock)

    @app.get("/healthz")
    async def healthz() -> Response:
        return json_response({"status": "ok"})

    @app.get("/readyz")
    async def readyz() -> Response:
        if (why := unready()) is not None:
            return error_response(EngineNotReady(why))
        if (late := await engine_status.not_ready(lag, clock.now())) is not None:
            return error_response(late)
        return json_response({"status": "ready"})

    @app.get("/metrics")
    async def metrics_endpoint() -> Response:
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return app
