"""The audit trail of admin actions: who, what, when, with which token.

An ASGI middleware around the whole app: when the admin check (``auth.require_admin``) let a
request through or refused it for want of a scope, it left who asked and the scope needed on
the request; after the answer, every change (any method but GET/HEAD/OPTIONS) and every
``privacy`` or ``admin`` read is recorded with its status. The action is the method and the
route's template (``DELETE /v1/profiles/{profile_id}``): never the path itself, a query or a
body, so the log names no customer.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from juncture.api.auth import Principal
from juncture.errors import StoreError, StoreUnavailable
from juncture.runtime.clock import Clock
from juncture.store.access import Access, Entry

log = logging.getLogger("juncture")
_READS = frozenset({"GET", "HEAD", "OPTIONS"})


class AuditTrail:
    def __init__(
        self, app: ASGIApp, *, access: Access, clock: Clock, public: frozenset[str] = frozenset()
    ) -> None:
        """``public``: paths that are never admin actions (the tracking endpoints), passed
        straight through: the hot path pays one set lookup."""
        self.app = app
        self.access = access
        self.clock = clock
        self.public = public

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.public:
            await self.app(scope, receive, send)
            return
        status = 500
        state = scope.setdefault("state", {})  # shared with the request, whatever copies scope

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            seen: Any = state.get("audit")
            if seen is not None:
                principal, needed, route = seen
                if scope["method"] not in _READS or needed in ("privacy", "admin"):
                    await run_in_threadpool(
                        self._record, principal, f"{scope['method']} {route}", needed, status
                    )

    def _record(self, principal: Principal, action: str, needed: str, status: int) -> None:
        entry = Entry(0, self.clock.now(), principal.actor, principal.kind, action, needed, status)
        try:
            self.access.record(entry)
        except (
            StoreError,
            StoreUnavailable,
        ):  # the answer is gone already; say so where operators look
            log.error("audit: could not record %s by %s (%s)", action, principal.actor, status)
