"""Who is calling: write keys for tracking, a bearer token for the admin API."""

from __future__ import annotations

import base64
import binascii
import hmac
import threading
from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request

from juncture.core import access
from juncture.errors import Forbidden, Unauthorized
from juncture.settings import key_hash, source_of
from juncture.store.access import Access
from juncture.store.base import Store


class WriteKeys:
    """Resolves a write key to its source: keys from settings, then keys minted into the
    store (looked up once, then cached; revocation takes effect on restart)."""

    def __init__(self, configured: list[str], store: Store) -> None:
        self._known = {k: source_of(k) for k in configured}
        self._store = store
        self._lock = threading.Lock()

    def known(self, write_key: str | None) -> bool:
        """Whether ``write_key`` is known without reading the store (an async caller then
        needs no thread for :meth:`source`)."""
        return bool(write_key) and write_key in self._known

    def source(self, write_key: str | None) -> str:
        if not write_key:
            raise Unauthorized(
                "no write key: send it as the HTTP Basic user name or as `writeKey` in the body"
            )
        found = self._known.get(write_key)
        if found is not None:
            return found
        stored = self._store.write_key_source(key_hash(write_key))
        if stored is None:
            raise Unauthorized("unknown write key")
        with self._lock:
            self._known[write_key] = stored
        return stored


def basic_user(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise Unauthorized("the Basic authorization header is not valid base64") from exc
    return decoded.split(":", 1)[0]


def admin_only(token: str | None) -> Any:
    """A router dependency: every route of the router needs the admin bearer ``token``."""

    def admin(request: Request) -> None:
        require_admin(request, token)

    return Depends(admin)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who made an admin request: ``actor`` is safe to log (a token's id, a user's name)."""

    actor: str
    kind: str  # token | user
    scopes: frozenset[str]


CONFIGURED = Principal("JUNCTURE_ADMIN_TOKEN", "token", access.ALL)


def require_admin(request: Request, token: str | None) -> None:
    """The caller's bearer token is the configured admin token (every scope) or a token minted
    with ``juncture tokens create`` whose scopes include what this route needs (403 if not).
    Who it was and the scope needed are left on ``request.state`` for the audit log."""
    header = request.headers.get("authorization", "")
    given = header[7:].strip() if header.lower().startswith("bearer ") else ""
    principal = _principal(request, token, given)
    route = getattr(request.scope.get("route"), "path", request.url.path)
    needed = access.required_scope(request.method, route)
    request.state.audit = (principal, needed, route)
    if needed not in principal.scopes:
        raise Forbidden(
            f"this token has scopes {', '.join(sorted(principal.scopes))}; "
            f"{request.method} {route} needs `{needed}`",
            where="authorization",
        )


def _principal(request: Request, token: str | None, given: str) -> Principal:
    if token is not None and given and hmac.compare_digest(given.encode(), token.encode()):
        return CONFIGURED
    store: Access | None = getattr(request.app.state, "access", None)
    found = store.token_for(given) if store is not None and given else None
    if found is not None:
        return Principal(found.token_id, "token", found.scopes)
    if token is None and store is None:
        raise Unauthorized("the admin API is off: set JUNCTURE_ADMIN_TOKEN to turn it on")
    raise Unauthorized(
        "admin endpoints need `Authorization: Bearer <token>`: JUNCTURE_ADMIN_TOKEN or a token "
        "from `juncture tokens create`"
    )
