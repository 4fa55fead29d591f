"""The Segment-compatible HTTP Tracking API: ``/v1/{track,identify,...,batch,import}``, and
the short paths the browser library posts to (``/v1/t``, ``/v1/p``, ..., ``/v1/b``).

The hot path: the raw body goes straight to msgspec (no pydantic model), and the answer
is sent only after the events are committed. Success is exactly ``200 {"success": true}``;
when some messages of a batch are invalid, the valid ones are stored, the invalid ones
quarantined, and the 200 body also lists ``rejected`` (index, code, message, path). When
every message is invalid the answer is ``400 {"code": "invalid_events", ...}``.
"""

from __future__ import annotations

import logging
import time
from typing import Final

from fastapi import APIRouter, Request
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from juncture.api import bodies, body
from juncture.api.auth import WriteKeys, basic_user
from juncture.api.errors import error_response, json_response
from juncture.core import messages
from juncture.errors import JunctureError, RateLimited
from juncture.metrics import Metrics
from juncture.runtime.ingest import Ingestor
from juncture.runtime.limits import RateLimits

SINGLE_TYPES = ("track", "identify", "page", "screen", "group", "alias")
# The paths Segment's browser library (analytics-next) posts to: the type's first letter,
# and b for its batching delivery; the same endpoints under other names.
SHORT_PATHS: Final = {**{kind[0]: kind for kind in SINGLE_TYPES}, "b": "batch"}
# What a storefront's browser calls, and so what CORS covers (api/cors.py).
BROWSER_PATHS: Final = frozenset(
    [*(f"/v1/{k}" for k in (*SINGLE_TYPES, "batch", *SHORT_PATHS)), "/v1/decide"]
)
_SUCCESS = b'{"success":true}'
CLIENT_CLOSED: Final = 499  # nginx's status for a client gone before the answer; never sent

log = logging.getLogger(__name__)


async def read_body(request: Request, timeout: float) -> bytes:
    """The body of a tracking request: at most the batch limit, within ``timeout`` s."""
    return await body.read(request, limit=messages.MAX_BATCH_BYTES, timeout=timeout)


class _Tracking:
    """Answers tracking requests and counts each in ``juncture_tracking_requests`` by
    status: 499 for a client gone mid-body and 500 for an unexpected error included."""

    def __init__(
        self,
        ingestor: Ingestor,
        keys: WriteKeys,
        metrics: Metrics,
        body_timeout: float,
        limits: RateLimits | None,
    ) -> None:
        self.ingestor = ingestor
        self.keys = keys
        self.metrics = metrics
        self.body_timeout = body_timeout
        self.limits = limits

    async def handle(self, request: Request, endpoint: str, type_hint: str | None) -> Response:
        started = time.perf_counter()
        try:
            response = await self._handle(request, type_hint)
        except JunctureError as exc:
            response = error_response(exc)
        except ClientDisconnect:
            log.info("/v1/%s: the client went away before its body was read whole", endpoint)
            response = Response(status_code=CLIENT_CLOSED)
        except Exception:
            self._count(endpoint, 500, started)  # errors.Unexpected answers and logs it
            raise
        self._count(endpoint, response.status_code, started)
        return response

    def _count(self, endpoint: str, status: int, started: float) -> None:
        self.metrics.requests.labels(endpoint, str(status)).inc()
        self.metrics.latency.observe(time.perf_counter() - started)

    async def _handle(self, request: Request, type_hint: str | None) -> Response:
        limits = self.limits
        if limits is not None:
            address = request.client.host if request.client else None
            _limited(limits.address_wait(address), "client address")
        user = basic_user(request)
        source = self.keys.source(user) if user else None
        raw = await read_body(request, self.body_timeout)
        envelope = (
            messages.parse_batch(raw)
            if type_hint is None
            else messages.parse_single(raw, type_hint)
        )
        if source is None:
            source = self.keys.source(envelope.write_key)
        if limits is not None:
            _limited(limits.source_wait(source), "write key")
        outcome = await self.ingestor.ingest(envelope, source)
        if not outcome.rejected:
            return Response(_SUCCESS, media_type="application/json")
        rejected = [r.to_json() for r in outcome.rejected]
        if outcome.accepted == 0:
            first = outcome.rejected[0]
            return json_response(
                {
                    "code": "invalid_events",
                    "message": f"no event was accepted; first problem at {first.path}: "
                    f"{first.message}",
                    "where": first.path,
                    "rejected": rejected,
                },
                400,
            )
        return json_response({"success": True, "rejected": rejected})


def _limited(wait: float | None, what: str) -> None:
    if wait is not None:
        raise RateLimited(
            f"too many requests from this {what}; send again in {wait:.1f} s",
            retry_after=wait,
            where=what,
        )


def router(
    ingestor: Ingestor,
    keys: WriteKeys,
    metrics: Metrics,
    body_timeout: float,
    limits: RateLimits | None = None,
) -> APIRouter:
    api = APIRouter()
    tracking = _Tracking(ingestor, keys, metrics, body_timeout, limits)

    def add(path: str, endpoint: str, type_hint: str | None, *, listed: bool = True) -> None:
        async def route(request: Request) -> Response:
            return await tracking.handle(request, endpoint, type_hint)

        body = bodies.batch() if type_hint is None else bodies.message(type_hint)
        api.add_api_route(
            path,
            route,
            methods=["POST"],
            name=endpoint if listed else f"{endpoint}_short",
            tags=["tracking"],
            openapi_extra=body,
            include_in_schema=listed,
        )

    for kind in SINGLE_TYPES:
        add(f"/v1/{kind}", kind, kind)
    add("/v1/batch", "batch", None)
    add("/v1/import", "import", None)
    for short, kind in SHORT_PATHS.items():  # what browser trackers post to
        add(f"/v1/{short}", kind, None if kind == "batch" else kind, listed=False)
    return api
