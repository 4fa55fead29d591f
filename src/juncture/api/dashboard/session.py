"""Signing in to the dashboard: the admin token, once, for a session cookie.

The token is typed into the login form and never travels in a URL. What the browser keeps is
``<expiry>.<HMAC-SHA256 of the expiry under the admin token>``: nothing to store on the
server, valid on every process that has the same token, and void as soon as the token
changes. The cookie is ``HttpOnly`` (scripts cannot read it), ``SameSite=Strict`` (no other
site's page can make the browser send it: the dashboard's forms need no CSRF token) and
``Secure`` when the dashboard is reached over HTTPS.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from typing import Final
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from juncture.api.dashboard import render
from juncture.runtime.clock import Clock

COOKIE: Final = "juncture_session"
LIFETIME: Final = dt.timedelta(hours=12)
HOME: Final = "/app"
LOGIN: Final = "/app/login"
MAX_FORM: Final = 4096


class LoginRequired(Exception):
    """Raised by :meth:`Sessions.require` for a request without a valid session; the
    handler :func:`to_login` sends a page to the login form and answers a script 401."""


class Sessions:
    """Issues and checks session cookies for one admin token (None: the dashboard is off)."""

    def __init__(self, token: str | None, clock: Clock) -> None:
        self._key = token.encode() if token else None
        self._clock = clock

    @property
    def enabled(self) -> bool:
        return self._key is not None

    def accepts_token(self, given: str) -> bool:
        return self._key is not None and hmac.compare_digest(given.encode(), self._key)

    def issue(self) -> str:
        expires = int((self._clock.now() + LIFETIME).timestamp())
        return f"{expires}.{self._mac(str(expires))}"

    def valid(self, cookie: str | None) -> bool:
        if self._key is None or not cookie or "." not in cookie:
            return False
        expires, mac = cookie.split(".", 1)
        if not expires.isdigit() or not hmac.compare_digest(mac, self._mac(expires)):
            return False
        return int(expires) > self._clock.now().timestamp()

    def require(self, request: Request) -> None:
        """A route dependency: the request carries a valid session cookie."""
        if not self.valid(request.cookies.get(COOKIE)):
            raise LoginRequired

    def _mac(self, expires: str) -> str:
        assert self._key is not None
        message = b"juncture dashboard session " + expires.encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()


async def to_login(request: Request, _exc: Exception) -> Response:
    """Pages go to the login form (and come back after); the dashboard's scripts get 401."""
    if request.url.path.startswith("/app/api/"):
        return render.problem(401, "unauthorized", "the session has ended: sign in again")
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{LOGIN}?{urlencode({'next': target})}", status_code=303)


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a dashboard path only (no other site, no scheme)."""
    if value and value.startswith(HOME) and not value.startswith("//") and "\\" not in value:
        return value
    return HOME


def router(sessions: Sessions) -> APIRouter:
    api = APIRouter(include_in_schema=False)

    @api.get(LOGIN)
    async def login_form(request: Request) -> Response:
        return _form(request, request.query_params.get("next"), None, 200, sessions)

    @api.post(LOGIN)
    async def login(request: Request) -> Response:
        raw = await request.body()
        form = parse_qs(raw[:MAX_FORM].decode("utf-8", "replace"))
        given, target = form.get("token", [""])[0], form.get("next", [None])[0]
        if not sessions.accepts_token(given):
            return _form(request, target, "That token is not the admin token.", 401, sessions)
        done = RedirectResponse(safe_next(target), status_code=303)
        done.set_cookie(
            COOKIE, sessions.issue(), max_age=int(LIFETIME.total_seconds()), path=HOME,
            httponly=True, samesite="strict", secure=request.url.scheme == "https",
        )  # fmt: skip
        return done

    @api.post("/app/logout")
    async def logout() -> Response:
        done = RedirectResponse(LOGIN, status_code=303)
        done.delete_cookie(COOKIE, path=HOME, httponly=True, samesite="strict")
        return done

    return api


def _form(
    request: Request, target: str | None, error: str | None, status: int, sessions: Sessions
) -> Response:
    return render.page(
        request, "login.html", status=status, next=safe_next(target), error=error,
        enabled=sessions.enabled,
    )  # fmt: skip
