"""``GET /v1/recommendations``: products to show a shopper, of one kind, with the reason for
each, and ``POST /v1/recommendations/train`` (admin): train the models again now.

Called from a page with the write key (HTTP Basic user name, or ``writeKey`` in the query),
a ``userId`` counts only with proof, as for ``POST /v1/decide``: ``userHash`` in the query or
the ``X-Juncture-User-Hash`` header (:mod:`juncture.core.proof`); without it the answer is
the one anybody gets, and ``Juncture-Identity`` says ``unverified``. Called from the
retailer's backend with the admin token, ``userId`` needs no proof and ``profileId`` may
name the profile directly. ``kind`` is one of :data:`juncture.recommend.base.KINDS`.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from juncture.api import engine_status
from juncture.api.auth import WriteKeys, basic_user, require_admin
from juncture.api.decide import IDENTITY_HEADER, PROOF_HEADER
from juncture.api.errors import json_response
from juncture.core import bounds, proof
from juncture.errors import BadInput, Unauthorized
from juncture.recommend.base import KINDS, MOST, Ask
from juncture.runtime.recommend import Recommendations, Result
from juncture.runtime.standing import Standing

Id = Annotated[str | None, Field(min_length=1, max_length=300)]
Price = Annotated[float | None, Field(ge=0, le=1e12)]
Since = Annotated[dt.datetime | None, Query(description="count events from this time (ISO 8601)")]


class Asked(BaseModel):
    """The query: the kind, who asks, what about, and the filters."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal[KINDS] = Field(description="the kind of recommendation")  # type: ignore[valid-type]
    userId: Id = None
    anonymousId: Id = None
    profileId: Id = Field(default=None, min_length=1, max_length=300, description="admin only")
    productId: Id = None
    storeCode: Id = Field(default=None, min_length=1, max_length=300, description="in stock here")
    category: Id = None
    n: int = Field(default=10, ge=1, le=MOST)
    minPrice: Price = None
    maxPrice: Price = None
    userHash: str | None = Field(default=None, max_length=128)
    writeKey: str | None = Field(default=None, max_length=300)
    consistent: bool = Field(default=False, description=engine_status.CONSISTENT_HELP)


def _json(result: Result, identity: str) -> dict[str, Any]:
    return {
        "recommendationId": result.recommendation_id,
        "kind": result.kind,
        "personalised": result.personalised,
        "identity": identity,
        "trainedAt": result.trained_at.isoformat() if result.trained_at else None,
        "items": [
            {
                "productId": p.product_id,
                "kind": p.kind,
                "reason": p.reason,
                "score": round(p.score, 6),
                "title": result.items[p.product_id].title or None,
                "category": result.items[p.product_id].category,
                "brand": result.items[p.product_id].brand,
                "price": result.items[p.product_id].price,
            }
            for p in result.picks
        ],
    }


def _bearer(request: Request) -> bool:
    return request.headers.get("authorization", "").lower().startswith("bearer ")


def _caller(request: Request, keys: WriteKeys, token: str | None, write_key: str | None) -> bool:
    """True for the admin token, False for a valid write key; 401 for neither."""
    if _bearer(request):
        require_admin(request, token)
        return True
    keys.source(basic_user(request) or write_key)
    return False


def router(
    recommendations: Recommendations,
    keys: WriteKeys,
    admin_token: str | None,
    identity_secret: str | None,
    engine: Standing | None = None,
) -> APIRouter:
    api = APIRouter(tags=["recommendations"])

    @api.get("/v1/recommendations")
    async def recommend(request: Request, q: Annotated[Asked, Query()]) -> Response:
        if keys.known(basic_user(request) or q.writeKey) and not _bearer(request):
            admin = False  # a page's known write key: no thread needed to check it
        else:
            admin = await run_in_threadpool(_caller, request, keys, admin_token, q.writeKey)
        if q.profileId is not None and not admin:
            raise Unauthorized("profileId needs the admin token; pages name userId or anonymousId")
        identifiers, identity = [], "anonymous"
        if q.userId is not None:
            given = q.userHash or request.headers.get(PROOF_HEADER)
            if admin or proof.verified(identity_secret, q.userId, given):
                identifiers.append("user_id:" + q.userId)
                identity = "verified"
            else:
                identity = "unverified"
        if q.anonymousId is not None:
            identifiers.append("anonymous_id:" + q.anonymousId)
        ask = Ask(
            q.kind, q.n, q.productId, q.storeCode, q.category,
            min_price=q.minPrice, max_price=q.maxPrice,
        )  # fmt: skip
        routing = [i for i in (q.userId, q.anonymousId) if i is not None]
        reached = await engine_status.catch_up(engine, q.consistent, routing)
        result = await run_in_threadpool(_answer, recommendations, ask, identifiers, q.profileId)
        response = engine_status.marked(json_response(_json(result, identity)), reached)
        response.headers[IDENTITY_HEADER] = identity
        return response

    @api.get("/v1/recommendations/report")
    async def report(request: Request, since: Since = None) -> Response:
        """Impressions, clicks, conversions, attributed revenue, click-through and conversion
        per kind, from the events since ``since`` (admin)."""
        require_admin(request, admin_token)
        if since is not None and (since.tzinfo is None or not bounds.within_time(since)):
            raise BadInput(
                f"since: a time with its zone in {bounds.time_range()}",
                code="invalid_parameter", where="query.since",
            )  # fmt: skip
        kinds = await run_in_threadpool(recommendations.report, since)
        return json_response({"since": since.isoformat() if since else None, "kinds": kinds})

    @api.post("/v1/recommendations/train", status_code=200)
    async def train(request: Request) -> Response:
        """Train every model again from the stored events and the catalogue (admin)."""
        require_admin(request, admin_token)
        models = await run_in_threadpool(recommendations.train)
        return json_response({"trained": models.summary()})

    return api


def _answer(
    recs: Recommendations, ask: Ask, identifiers: list[str], profile_id: str | None
) -> Result:
    shopper = recs.shopper(identifiers) if profile_id is None else recs.profile(profile_id)
    return recs.recommend(ask, shopper)
