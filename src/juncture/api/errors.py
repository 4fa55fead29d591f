"""The one place where errors become HTTP responses: ``{"code", "message"[, "where"]}``."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response

from juncture.errors import JunctureError


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
    return json_response(body, exc.status, headers)


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
