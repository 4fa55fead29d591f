"""Admin read and repair API (``Authorization: Bearer $JUNCTURE_ADMIN_TOKEN``)."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from juncture.api.auth import admin_only
from juncture.api.errors import json_response
from juncture.api.params import AfterSeq, Derived, EventLimit, PathId, RowId
from juncture.core import events as core_events
from juncture.core import identity
from juncture.core.events import Event
from juncture.errors import BadInput, NotFound
from juncture.runtime.ingest import Ingestor, replay_failed
from juncture.store.base import FailedEvent
from juncture.store.sql import SqlStore


class ReplayRequest(BaseModel):
    ids: list[RowId] | None = Field(
        default=None, description="Quarantined rows to replay; all failed rows when omitted."
    )


class ReplayOneRequest(BaseModel):
    payload: dict[str, Any] | None = Field(
        default=None, description="A corrected message to validate in place of the stored one."
    )


def failed_json(row: FailedEvent) -> dict[str, Any]:
    return {
        "id": row.id,
        "source": row.source,
        "receivedAt": row.received_at.isoformat(),
        "messageId": row.message_id,
        "code": row.code,
        "reason": row.reason,
        "path": row.path,
        "status": row.status,
        "payload": row.payload,
    }


def _derived_of(store: SqlStore, identifier: str, after: int, limit: int) -> list[Event]:
    """The derived events of the profile holding ``identifier`` and the ones merged into it."""
    found = store.profiles.by_identifier(identifier)
    if found is None:
        return []
    ids = [found.profile.profile_id, *found.merged_ids]
    return store.profiles.events(ids, after_seq=after, limit=limit, derived=True)


def router(store: SqlStore, ingestor: Ingestor, admin_token: str | None) -> APIRouter:
    api = APIRouter(dependencies=[admin_only(admin_token)], tags=["admin"])

    @api.get("/v1/events")
    async def list_events(
        user_id: Annotated[str | None, Query(alias="userId")] = None,
        anonymous_id: Annotated[str | None, Query(alias="anonymousId")] = None,
        after: AfterSeq = 0,
        limit: EventLimit = 100,
        derived: Derived = None,
    ) -> Response:
        """Events in log order. Asked by one id, the engine's derived events of the person
        that id belongs to come too (timer signals, segment entries: stored without the id)."""
        if user_id is None and anonymous_id is None:
            raise BadInput("give `userId` or `anonymousId`", code="missing_parameter")
        found = await run_in_threadpool(
            store.events,
            user_id=user_id,
            anonymous_id=anonymous_id,
            after_seq=after,
            limit=limit,
            derived=derived,
        )
        one = None  # the one identifier asked by, whose person's derived events come too
        if user_id is not None and anonymous_id is None:
            one = f"{identity.USER}:{user_id}"
        elif anonymous_id is not None and user_id is None:
            one = f"{identity.ANONYMOUS}:{anonymous_id}"
        if one is not None and derived is not False:
            theirs = await run_in_threadpool(_derived_of, store, one, after, limit)
            found = sorted({e.seq: e for e in (*found, *theirs)}.values(), key=lambda e: e.seq)
        return json_response({"events": [core_events.to_json(e) for e in found[:limit]]})

    @api.get("/v1/failed")
    async def list_failed(
        status: Annotated[str, Query(pattern="^(failed|replayed|dead|all)$")] = "failed",
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> Response:
        rows = await run_in_threadpool(
            store.failed, status=None if status == "all" else status, limit=limit
        )
        return json_response({"failed": [failed_json(r) for r in rows]})

    @api.post("/v1/failed/replay")
    async def replay_all(body: ReplayRequest | None = None) -> Response:
        rows = await run_in_threadpool(store.failed, status="failed", limit=10_000)
        if body is not None and body.ids is not None:
            wanted = set(body.ids)
            rows = [r for r in rows if r.id in wanted]
        result = await run_in_threadpool(replay_failed, store, ingestor, rows)
        return _replay_json(result.replayed, result.still_failing)

    @api.post("/v1/failed/{failed_id}/replay")
    async def replay_one(failed_id: PathId, body: ReplayOneRequest | None = None) -> Response:
        rows = await run_in_threadpool(store.failed, status="failed", limit=10_000)
        row = next((r for r in rows if r.id == failed_id), None)
        if row is None:
            raise NotFound(f"no quarantined event {failed_id} waiting for replay")
        payloads = {row.id: orjson.dumps(body.payload)} if body and body.payload else None
        result = await run_in_threadpool(replay_failed, store, ingestor, [row], payloads)
        return _replay_json(result.replayed, result.still_failing)

    return api


def _replay_json(replayed: list[int], still: list[tuple[int, str]]) -> Response:
    return json_response(
        {
            "replayed": replayed,
            "stillFailing": [{"id": i, "reason": reason} for i, reason in still],
        }
    )
