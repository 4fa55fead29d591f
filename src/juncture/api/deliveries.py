"""Deliveries: what the outbox sent, is sending, gave up on (admin API, bearer token).

- ``GET /v1/deliveries?profileId=|userId=|anonymousId=|journeyId=|status=&after=&limit=``:
  messages oldest first; ``next`` is the ``after`` of the next page (null on the last).
- ``GET /v1/deliveries/{id}``: one message with its payload and every recorded attempt.
- ``POST /v1/deliveries/retry`` ``{"ids": [...]}`` (all dead letters when omitted): dead
  letters back to ``pending``, due at once, with a fresh count of attempts.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from juncture.api.auth import admin_only
from juncture.api.errors import json_response
from juncture.api.params import BIGINT, PathId, RowId
from juncture.errors import BadInput, NotFound
from juncture.store.outbox import STATUSES, AttemptRow, Outbox, OutboxRow
from juncture.store.placements import Placements
from juncture.store.recipients import Recipients

STATUS_PATTERN = "^(" + "|".join(STATUSES) + ")$"


class RetryRequest(BaseModel):
    ids: list[RowId] | None = Field(
        default=None, max_length=10_000, description="Dead letters to retry; all when omitted."
    )


def delivery_json(row: OutboxRow) -> dict[str, Any]:
    def when(value: Any) -> str | None:
        return None if value is None else value.isoformat()

    return {
        "id": row.id,
        "idempotencyKey": row.idempotency_key,
        "profileId": row.profile_id,
        "journeyId": row.journey_id,
        "journeyVersion": row.journey_version,
        "enrollmentId": row.enrollment_id,
        "nodeId": row.node_id,
        "channel": row.channel,
        "purpose": row.purpose,
        "template": row.template,
        "status": row.status,
        "reason": row.reason,
        "attempts": row.attempts,
        "nextAttemptAt": when(row.next_attempt_at),
        "createdAt": when(row.created_at),
        "sentAt": when(row.sent_at),
        "lastError": row.last_error,
    }


def attempt_json(row: AttemptRow) -> dict[str, Any]:
    return {
        "attempt": row.attempt,
        "at": row.at.isoformat(),
        "ok": row.ok,
        "statusCode": row.status_code,
        "error": row.error,
        "durationMs": row.duration_ms,
    }


def router(outbox: Outbox, placements: Placements, admin_token: str | None) -> APIRouter:
    api = APIRouter(dependencies=[admin_only(admin_token)], tags=["deliveries"])
    recipients = Recipients(outbox.engine)

    async def profile_of(user_id: str | None, anonymous_id: str | None) -> str | None:
        ids = [f"user_id:{user_id}"] if user_id else []
        ids += [f"anonymous_id:{anonymous_id}"] if anonymous_id else []
        if not ids:
            return None
        found = await run_in_threadpool(placements.resolve, ids)
        if found is None:
            raise NotFound("no profile has that userId / anonymousId")
        return found

    @api.get("/v1/deliveries")
    async def list_deliveries(
        *,
        profile_id: Annotated[str | None, Query(alias="profileId", max_length=64)] = None,
        user_id: Annotated[str | None, Query(alias="userId", max_length=300)] = None,
        anonymous_id: Annotated[str | None, Query(alias="anonymousId", max_length=300)] = None,
        journey_id: Annotated[str | None, Query(alias="journeyId", max_length=100)] = None,
        status: Annotated[str | None, Query(pattern=STATUS_PATTERN)] = None,
        after: Annotated[
            int, Query(ge=0, le=BIGINT, description="Only deliveries with id above this")
        ] = 0,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> Response:
        resolved = await profile_of(user_id, anonymous_id)
        if resolved is not None and profile_id is not None and resolved != profile_id:
            raise BadInput("profileId and userId/anonymousId name different profiles")
        rows = await run_in_threadpool(
            outbox.deliveries,
            profile_id=profile_id or resolved,
            journey_id=journey_id,
            status=status,
            limit=limit,
            after_id=after,
        )
        following = rows[-1].id if len(rows) == limit else None
        return json_response({"deliveries": [delivery_json(r) for r in rows], "next": following})

    @api.get("/v1/deliveries/{delivery_id}")
    async def get_delivery(delivery_id: PathId) -> Response:
        row = await run_in_threadpool(outbox.get, delivery_id)
        if row is None:
            raise NotFound(f"no delivery {delivery_id}")
        attempts = await run_in_threadpool(outbox.attempts, delivery_id)
        body = delivery_json(row)
        body["payload"] = row.payload
        body["attemptLog"] = [attempt_json(a) for a in attempts]
        said = await run_in_threadpool(recipients.feedback, delivery_id)
        body["feedback"] = [f.to_json() for f in said]  # bounces, complaints, unsubscribes
        return json_response(body)

    @api.post("/v1/deliveries/retry")
    async def retry(body: RetryRequest | None = None) -> Response:
        ids = body.ids if body is not None else None
        count = await run_in_threadpool(outbox.retry_dead, ids)
        return json_response({"retried": count})

    return api
