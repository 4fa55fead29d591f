"""The one place where errors become HTTP responses: ``{"code", "message"[, "where"]}``.

An exception that is not a :class:`JunctureError` is answered ``500 internal_error`` and
logged as one line naming its type and the route (the traceback at DEBUG), never the
request: paths, queries and bodies may carry personal data.
"""

from __future__ import annotations

import logging
import math
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from juncture.errors import JunctureError, RateLimited

log = logging.getLogger(__name__)


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body), status_code=status, media_type="application/json", headers=headers
    )


def error_response(exc: JunctureError, extra: dict[str, Any] | None = None) -> Response:
    body = exc.to_json()
    if extra:
        body.update(extra)
    headers = {"Retry-After": "1"} if exc.retryable else None
    if exc.status == 401:
        headers = {"WWW-Authenticate": 'Basic realm="juncture"'}
    if exc.status == 408:
        headers = {"Connection": "close"}  # the rest of the body may still be on its way
    if isinstance(exc, RateLimited):
        headers = {"Retry-After": str(max(1, math.ceil(exc.retry_after)))}
    return json_response(body, exc.status, headers)


class Unexpected:
    """ASGI middleware: the last word on exceptions no handler took (see the docstring of
    the module); a client gone mid-request is one INFO line."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, receive, watched)
        except ClientDisconnect:
            log.info("%s: the client went away mid-request", _route(scope))
        except Exception as exc:
            name = type(exc).__name__
            log.error("%s answered 500: unexpected %s", _route(scope), name)
            log.debug("the unexpected %s", name, exc_info=exc)
            if not started:
                body = {"code": "internal_error", "message": f"unexpected {name}; see the log"}
                await json_response(body, 500)(scope, receive, send)


def _route(scope: Scope) -> str:
    """``GET /v1/profiles/{profile_id}``: the route's template, not the path sent."""
    path = getattr(scope.get("route"), "path", None) or "(no route)"
    return f"{scope.get('method', '?')} {path}"


def install(app: FastAPI) -> None:
    async def juncture_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, JunctureError)
        return error_response(exc)

    async def validation_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, RequestValidationError)
        errors = exc.errors()
        first = errors[0] if errors else {}
        where = ".".join(str(p) for p in first.get("loc", ()))
        message = f"{where}: {first.get('msg', 'invalid request')}"
        return json_response({"code": "invalid_parameter", "message": message, "where": where}, 400)

    async def http_error(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return json_response({"code": code, "message": str(exc.detail)}, exc.status_code)

    app.add_exception_handler(JunctureError, juncture_error)
    app.add_exception_handler(RequestValidationError, validation_error)
    app.add_exception_handler(HTTPException, http_error)
    app.add_middleware(Unexpected)
