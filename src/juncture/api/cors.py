"""CORS for what a storefront's browser calls: the tracking endpoints (their short paths
too) and ``POST /v1/decide``; never the admin API.

Browser trackers post from the shop's origin to Juncture's: ``@segment/analytics-next``
sends ``Content-Type: text/plain`` (no preflight), other trackers send JSON or a Basic
``Authorization`` header, which the browser asks about first (``OPTIONS`` preflight). An
origin is allowed when ``JUNCTURE_CORS_ORIGINS`` lists it (``*``: any origin, as write keys
are public anyway); a preflight from any other origin is answered ``403``, and no other
response carries CORS headers, so the browser keeps the answer from the page.
"""

from __future__ import annotations

from collections.abc import Iterable

import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ALLOWED_HEADERS = "content-type, authorization"
MAX_AGE = "600"


class BrowserCors:
    def __init__(self, app: ASGIApp, *, origins: Iterable[str], paths: Iterable[str]) -> None:
        self.app = app
        self.origins = frozenset(o.strip().rstrip("/") for o in origins if o.strip())
        self.paths = frozenset(paths)

    def allows(self, origin: str | None) -> bool:
        return origin is not None and ("*" in self.origins or origin in self.origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        origin = headers.get("origin")
        if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
            await self._preflight(origin, send)
            return
        if not self.allows(origin):
            await self.app(scope, receive, send)
            return
        assert origin is not None

        async def with_cors(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"access-control-allow-origin", origin.encode("latin-1")),
                    (b"vary", b"Origin"),
                ]
            await send(message)

        await self.app(scope, receive, with_cors)

    async def _preflight(self, origin: str | None, send: Send) -> None:
        if not self.allows(origin):
            body = orjson.dumps(
                {
                    "code": "origin_not_allowed",
                    "message": f"origin {origin!r} is not in JUNCTURE_CORS_ORIGINS",
                    "where": "Origin",
                }
            )
            await _answer(send, 403, body, [(b"content-type", b"application/json")])
            return
        assert origin is not None
        await _answer(
            send,
            204,
            b"",
            [
                (b"access-control-allow-origin", origin.encode("latin-1")),
                (b"access-control-allow-methods", b"POST, OPTIONS"),
                (b"access-control-allow-headers", ALLOWED_HEADERS.encode()),
                (b"access-control-max-age", MAX_AGE.encode()),
                (b"vary", b"Origin"),
            ],
        )


async def _answer(send: Send, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    length = (b"content-length", str(len(body)).encode())
    await send({"type": "http.response.start", "status": status, "headers": [*headers, length]})
    await send({"type": "http.response.body", "body": body})
