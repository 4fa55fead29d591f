"""Admin API for access (scope ``admin``): scoped tokens, dashboard users, the audit log.

``POST /v1/tokens`` mints a token with scopes (the secret is in this answer only),
``GET /v1/tokens`` lists them, ``DELETE /v1/tokens/{token_id}`` revokes one at once.
``PUT /v1/users/{name}`` adds a dashboard user or sets their role and password,
``GET /v1/users`` lists, ``DELETE /v1/users/{name}`` disables. ``GET /v1/audit`` answers the
audit log (``since``, ``until``, ``actor``, ``format=csv`` for a file).
"""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field, field_validator
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from juncture.api.auth import admin_only
from juncture.api.errors import json_response
from juncture.api.params import At
from juncture.core import access
from juncture.errors import NotFound
from juncture.runtime.clock import Clock
from juncture.store.access import Access, Entry, Token, User

Role = Literal["admin", "marketer", "analyst", "support"]


class NewToken(BaseModel):
    name: str = Field(min_length=1, max_length=200, description="What the token is for.")
    scopes: list[Literal["read", "write", "privacy", "admin"]] = Field(
        min_length=1, description="Any of read, write, privacy, admin."
    )


class UserBody(BaseModel):
    role: Role = Field(description="admin, marketer, analyst or support.")
    password: str = Field(min_length=12, max_length=200, description="At least 12 characters.")

    @field_validator("password")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("the password is blank")
        return value


def _token(t: Token) -> dict[str, Any]:
    return {
        "tokenId": t.token_id, "name": t.name, "scopes": sorted(t.scopes),
        "createdAt": t.created_at.isoformat(),
        "revokedAt": t.revoked_at.isoformat() if t.revoked_at else None,
    }  # fmt: skip


def _user(u: User) -> dict[str, Any]:
    return {
        "name": u.name, "role": u.role, "scopes": sorted(access.ROLES[u.role]),
        "createdAt": u.created_at.isoformat(),
        "disabledAt": u.disabled_at.isoformat() if u.disabled_at else None,
    }  # fmt: skip


def entry_json(e: Entry) -> dict[str, Any]:
    return {
        "id": e.id, "at": e.at.isoformat(), "actor": e.actor, "actorKind": e.actor_kind,
        "action": e.action, "scope": e.scope, "status": e.status,
    }  # fmt: skip


def entries_csv(entries: list[Entry]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "at", "actor", "actor_kind", "action", "scope", "status"])
    for e in entries:
        writer.writerow(
            [e.id, e.at.isoformat(), e.actor, e.actor_kind, e.action, e.scope, e.status]
        )
    return out.getvalue()


def router(store: Access, admin_token: str | None, clock: Clock) -> APIRouter:
    api = APIRouter(prefix="/v1", dependencies=[admin_only(admin_token)], tags=["access"])

    @api.post("/tokens")
    async def mint(body: NewToken) -> Response:
        token, secret = await run_in_threadpool(
            store.add_token, body.name, frozenset(body.scopes), clock.now()
        )
        return json_response({**_token(token), "token": secret}, 201)

    @api.get("/tokens")
    async def tokens() -> Response:
        return json_response({"tokens": [_token(t) for t in await run_in_threadpool(store.tokens)]})

    @api.delete("/tokens/{token_id}")
    async def revoke(token_id: str) -> Response:
        if not await run_in_threadpool(store.revoke_token, token_id, clock.now()):
            raise NotFound(f"no live token {token_id}", where="token_id")
        return json_response({"tokenId": token_id, "revoked": True})

    @api.put("/users/{name}")
    async def put_user(name: Annotated[str, Path(max_length=200)], body: UserBody) -> Response:
        await run_in_threadpool(store.put_user, name, body.role, body.password, clock.now())
        return json_response({"name": name, "role": body.role})

    @api.get("/users")
    async def users() -> Response:
        return json_response({"users": [_user(u) for u in await run_in_threadpool(store.users)]})

    @api.delete("/users/{name}")
    async def disable(name: str) -> Response:
        if not await run_in_threadpool(store.disable_user, name, clock.now()):
            raise NotFound(f"no enabled user {name}", where="name")
        return json_response({"name": name, "disabled": True})

    @api.get("/audit")
    async def audit(
        since: At = None,
        until: At = None,
        actor: str | None = None,
        limit: Annotated[int, Query(ge=1, le=100_000)] = 1000,
        format: Literal["json", "csv"] = "json",
    ) -> Response:
        entries = await run_in_threadpool(
            lambda: list(store.audit(since=since, until=until, actor=actor, limit=limit))
        )
        if format == "csv":
            return Response(entries_csv(entries), media_type="text/csv")
        return json_response({"entries": [entry_json(e) for e in entries]})

    return api
