"""Request bodies read within bounds: at most ``limit`` bytes (after gzip too) and within
``timeout`` seconds, so that a client that stalls mid-body is answered 408 and let go
instead of holding a connection and a task forever."""

from __future__ import annotations

import asyncio
import zlib

from fastapi import Request

from juncture.errors import BodyTimeout, MalformedBody, PayloadTooLarge


async def read(request: Request, *, limit: int, timeout: float) -> bytes:
    """The request body, inflated if gzip, never larger than ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"body is {declared} bytes; the limit is {limit} bytes per request")
    try:
        async with asyncio.timeout(timeout):
            body = await _raw(request, limit)
    except TimeoutError:
        raise BodyTimeout(
            f"the body did not arrive within {timeout:g} s; send it whole, then wait"
        ) from None
    encoding = request.headers.get("content-encoding", "").strip().lower()
    if encoding == "gzip":
        return _gunzip(body, limit)
    if encoding not in ("", "identity"):
        raise MalformedBody(
            f"Content-Encoding {encoding!r} is not supported; use gzip or none",
            code="unsupported_encoding",
        )
    return body


async def _raw(request: Request, limit: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"body is over {limit} bytes, the limit per request")
        chunks.append(chunk)
    return b"".join(chunks)


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
