"""Signing in to the dashboard, once, for a session cookie: as a dashboard user (name and
password, with a role: ``juncture users add``, ``PUT /v1/users/{name}``) or with the admin
token (every scope).

Nothing travels in a URL. What the browser keeps is ``<expiry>.<role>.<name>.<HMAC-SHA256 of
them under the admin token>``: nothing to store on the server, valid on every process that
has the same token, and void as soon as the token changes. Each request is allowed by the
role's scopes (``core.access``): pages and previews need ``read``, changes ``write``, a
person's export and erasure ``privacy``. The cookie is ``HttpOnly`` (scripts cannot read
it), ``SameSite=Strict`` (no other site's page can make the browser send it: the dashboard's
forms need no CSRF token) and ``Secure`` when the dashboard is reached over HTTPS.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
from dataclasses import dataclass
from typing import Final
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from juncture.api.dashboard import render
from juncture.core import access
from juncture.errors import Forbidden
from juncture.runtime.clock import Clock
from juncture.store.access import Access

COOKIE: Final = "juncture_session"
LIFETIME: Final = dt.timedelta(hours=12)
HOME: Final = "/app"
LOGIN: Final = "/app/login"
MAX_FORM: Final = 4096
TOKEN_ROLE: Final = "token"  # noqa: S105 - a role's name: signed in with the admin token
# Requests to the dashboard's scripts' endpoints that change nothing, or that need more than
# write (a person's data), by the end of their path; every other POST needs write.
_READ_POSTS: Final = ("/app/api/journeys/draft", "/app/api/journeys/dry-run",
                      "/app/api/segments/preview")  # fmt: skip
_PRIVACY_ENDS: Final = ("/export", "/erase")


@dataclass(frozen=True, slots=True)
class Session:
    """Who is signed in (None: the admin token) and what their role allows."""

    name: str | None
    role: str
    scopes: frozenset[str]


def scope_of(method: str, path: str) -> str:
    """The scope a dashboard request needs.

    >>> scope_of("GET", "/app/journeys"), scope_of("POST", "/app/api/journeys/j/pause")
    ('read', 'write')
    >>> scope_of("GET", "/app/api/customers/p1/export")
    'privacy'
    """
    if path.startswith("/app/api/customers/") and path.endswith(_PRIVACY_ENDS):
        return "privacy"
    if method.upper() in {"GET", "HEAD"} or path in _READ_POSTS:
        return "read"
    return "write"


class LoginRequired(Exception):
    """Raised by :meth:`Sessions.require` for a request without a valid session; the
    handler :func:`to_login` sends a page to the login form and answers a script 401."""


class Sessions:
    """Issues and checks session cookies under one admin token (None: the dashboard is off),
    and the users who may sign in (``users``)."""

    def __init__(self, token: str | None, clock: Clock, users: Access) -> None:
        self._key = token.encode() if token else None
        self._clock = clock
        self.users = users

    @property
    def enabled(self) -> bool:
        return self._key is not None

    def accepts_token(self, given: str) -> bool:
        return self._key is not None and hmac.compare_digest(given.encode(), self._key)

    def issue(self, role: str, name: str | None = None) -> str:
        expires = int((self._clock.now() + LIFETIME).timestamp())
        body = f"{expires}.{role}.{(name or '').encode().hex()}"
        return f"{body}.{self._mac(body)}"

    def session(self, cookie: str | None) -> Session | None:
        """The session ``cookie`` carries, if it is ours, whole and not expired."""
        parts = (cookie or "").split(".")
        if self._key is None or len(parts) != 4:
            return None
        expires, role, name, mac = parts
        if not hmac.compare_digest(mac, self._mac(f"{expires}.{role}.{name}")):
            return None
        if not expires.isdigit() or int(expires) <= self._clock.now().timestamp():
            return None
        scopes = access.ALL if role == TOKEN_ROLE else access.ROLES.get(role)
        if scopes is None:
            return None
        return Session(bytes.fromhex(name).decode() or None, role, scopes)

    def require(self, request: Request) -> None:
        """A route dependency: a valid session whose role has the scope the request needs."""
        found = self.session(request.cookies.get(COOKIE))
        if found is None:
            raise LoginRequired
        request.state.scopes = found.scopes  # pages show only what this role may press
        needed = scope_of(request.method, request.url.path)
        if needed not in found.scopes:
            raise Forbidden(f"the {found.role} role cannot do this (it needs {needed})")

    def _mac(self, body: str) -> str:
        assert self._key is not None
        message = b"juncture dashboard session " + body.encode()
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
        form = {k: v[0] for k, v in parse_qs(raw[:MAX_FORM].decode("utf-8", "replace")).items()}
        target = form.get("next")
        cookie = await run_in_threadpool(_signed_in, sessions, form)
        if cookie is None:
            why = "That name and password, or that token, do not sign in."
            return _form(request, target, why, 401, sessions)
        done = RedirectResponse(safe_next(target), status_code=303)
        done.set_cookie(
            COOKIE, cookie, max_age=int(LIFETIME.total_seconds()), path=HOME,
            httponly=True, samesite="strict", secure=request.url.scheme == "https",
        )  # fmt: skip
        return done

    @api.post("/app/logout")
    async def logout() -> Response:
        done = RedirectResponse(LOGIN, status_code=303)
        done.delete_cookie(COOKIE, path=HOME, httponly=True, samesite="strict")
        return done

    return api


def _signed_in(sessions: Sessions, form: dict[str, str]) -> str | None:
    """A session cookie for a user's name and password, or for the admin token."""
    if not sessions.enabled:
        return None
    if form.get("name"):
        user = sessions.users.user_signing_in(form["name"], form.get("password", ""))
        return sessions.issue(user.role, user.name) if user is not None else None
    if sessions.accepts_token(form.get("token", "")):
        return sessions.issue(TOKEN_ROLE)
    return None


def _form(
    request: Request, target: str | None, error: str | None, status: int, sessions: Sessions
) -> Response:
    return render.page(
        request, "login.html", status=status, next=safe_next(target), error=error,
        enabled=sessions.enabled,
    )  # fmt: skip
