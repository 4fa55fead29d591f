"""The Segment-compatible HTTP Tracking API: ``/v1/{track,identify,...,batch,import}``.

The hot path: the raw body goes straight to msgspec (no pydantic model), and the answer
is sent only after the events are committed. Success is exactly ``200 {"success": true}``;
when some messages of a batch are invalid, the valid ones are stored, the invalid ones
quarantined, and the 200 body also lists ``rejected`` (index, code, message, path). When
every message is invalid the answer is ``400 {"code": "invalid_events", ...}``.
"""

from __future__ import annotations

import time
import zlib

from fastapi import APIRouter, Request
from starlette.responses import Response

from juncture.api.auth import WriteKeys, basic_user
from juncture.api.errors import error_response, json_response
from juncture.core import messages
from juncture.errors import JunctureError, MalformedBody, PayloadTooLarge
from juncture.metrics import Metrics
from juncture.runtime.ingest import Ingestor

SINGLE_TYPES = ("track", "identify", "page", "screen", "group", "alias")
_SUCCESS = b'{"success":true}'


async def read_body(request: Request) -> bytes:
    """The request body, inflated if gzip, never larger than the batch limit."""
    limit = messages.MAX_BATCH_BYTES
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"body is {declared} bytes; the limit is {limit} bytes per request")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"body is over {limit} bytes, the limit per request")
        chunks.append(chunk)
    body = b"".join(chunks)
    encoding = request.headers.get("content-encoding", "").strip().lower()
    if encoding == "gzip":
        return _gunzip(body, limit)
    if encoding not in ("", "identity"):
        raise MalformedBody(
            f"Content-Encoding {encoding!r} is not supported; use gzip or none",
            code="unsupported_encoding",
        )
    return body


def _gunzip(body: bytes, limit: int) -> bytes:
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise MalformedBody(
            f"Content-Encoding is gzip but the body is not: {exc}", code="bad_encoding"
        ) from exc
    if len(out) > limit or inflater.unconsumed_tail:
        raise PayloadTooLarge(f"inflated body is over {limit} bytes, the limit per request")
    return out


def router(ingestor: Ingestor, keys: WriteKeys, metrics: Metrics) -> APIRouter:
    api = APIRouter()

    async def handle(request: Request, endpoint: str, type_hint: str | None) -> Response:
        started = time.perf_counter()
        try:
            response = await _handle(request, type_hint)
        except JunctureError as exc:
            response = error_response(exc)
        metrics.requests.labels(endpoint, str(response.status_code)).inc()
        metrics.latency.observe(time.perf_counter() - started)
        return response

    async def _handle(request: Request, type_hint: str | None) -> Response:
        user = basic_user(request)
        source = keys.source(user) if user else None
        body = await read_body(request)
        envelope = (
            messages.parse_batch(body)
            if type_hint is None
            else messages.parse_single(body, type_hint)
        )
        if source is None:
            source = keys.source(envelope.write_key)
        outcome = await ingestor.ingest(envelope, source)
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

    def add(path: str, endpoint: str, type_hint: str | None) -> None:
        async def route(request: Request) -> Response:
            return await handle(request, endpoint, type_hint)

        api.add_api_route(path, route, methods=["POST"], name=endpoint, tags=["tracking"])

    for kind in SINGLE_TYPES:
        add(f"/v1/{kind}", kind, kind)
    add("/v1/batch", "batch", None)
    add("/v1/import", "import", None)
    return api
