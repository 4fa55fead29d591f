"""Who is calling: write keys for tracking, a bearer token for the admin API."""

from __future__ import annotations

import base64
import binascii
import hmac
import threading
from typing import Any

from fastapi import Depends, Request

from juncture.errors import Unauthorized
from juncture.settings import key_hash, source_of
from juncture.store.base import Store


class WriteKeys:
    """Resolves a write key to its source: keys from settings, then keys minted into the
    store (looked up once, then cached; revocation takes effect on restart)."""

    def __init__(self, configured: list[str], store: Store) -> None:
        self._known = {k: source_of(k) for k in configured}
        self._store = store
        self._lock = threading.Lock()

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


def require_admin(request: Request, token: str | None) -> None:
    if token is None:
        raise Unauthorized("the admin API is off: set JUNCTURE_ADMIN_TOKEN to turn it on")
    header = request.headers.get("authorization", "")
    given = header[7:].strip() if header.lower().startswith("bearer ") else ""
    if not hmac.compare_digest(given.encode(), token.encode()):
        raise Unauthorized("admin endpoints need `Authorization: Bearer <JUNCTURE_ADMIN_TOKEN>`")
