"""The retailer's programmes over HTTP (``Authorization: Bearer $JUNCTURE_ADMIN_TOKEN``):
loyalty standing, tiers, promotions and coupons in force, coupon redemptions within their
limit, associates by store and skill, and a product's reviews with their summary. The
feeds themselves are uploaded through ``POST /v1/catalog/{kind}``."""

from __future__ import annotations

import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from juncture.api.auth import admin_only
from juncture.api.errors import json_response
from juncture.api.params import At, moment
from juncture.core import offers
from juncture.errors import Conflict, NotFound
from juncture.runtime.clock import Clock
from juncture.store import programmes as stored
from juncture.store.programmes import Programmes

Text = Annotated[str | None, Query(max_length=200)]


class Redemption(BaseModel):
    redemption_id: str = Field(alias="redemptionId", min_length=1, max_length=200)
    customer_id: str | None = Field(default=None, alias="customerId", min_length=1, max_length=200)


def standing_json(account: offers.Account, tiers: list[offers.Tier]) -> dict[str, Any]:
    """A member's points and tier, the next tier and the points to it."""
    standing = offers.progress(account, tiers)
    return {
        "customerId": account.customer_id,
        "points": account.points,
        "tier": _tier(standing.tier),
        "nextTier": _tier(standing.next),
        "pointsToNextTier": standing.to_next,
        "expiringPoints": account.expiring,
        "pointsExpireAt": account.expires_at.isoformat() if account.expires_at else None,
    }


def _tier(tier: offers.Tier | None) -> dict[str, Any] | None:
    if tier is None:
        return None
    return {
        "tier": tier.tier,
        "name": tier.name,
        "threshold": tier.threshold,
        "benefits": list(tier.benefits),
    }


def plain(record: Any) -> dict[str, Any]:
    """A programme record as JSON (its fields, times as ISO 8601)."""
    out: dict[str, Any] = {}
    for name, value in dataclasses.asdict(record).items():
        out[name] = value.isoformat() if hasattr(value, "isoformat") else value
    return out


def router(programmes: Programmes, admin_token: str | None, clock: Clock) -> APIRouter:
    api = APIRouter(dependencies=[admin_only(admin_token)], tags=["catalog"])

    @api.get("/v1/loyalty/tiers")
    async def tiers() -> Response:
        found = await run_in_threadpool(programmes.tiers)
        return json_response({"tiers": [_tier(t) for t in found]})

    @api.get("/v1/loyalty/{customer_id}")
    async def loyalty(customer_id: str) -> Response:
        account = await run_in_threadpool(programmes.account, customer_id)
        if account is None:
            raise NotFound(f"no loyalty account for {customer_id!r}")
        found = await run_in_threadpool(programmes.tiers)
        return json_response(standing_json(account, found))

    @api.get("/v1/promotions")
    async def promotions(at: At = None) -> Response:
        now = moment(at) if at is not None else clock.now()
        found = await run_in_threadpool(programmes.promotions, now)
        return json_response({"promotions": [plain(p) for p in found]})

    @api.get("/v1/coupons")
    async def coupons(at: At = None) -> Response:
        now = moment(at) if at is not None else clock.now()
        found = await run_in_threadpool(programmes.coupons, now)
        used = await run_in_threadpool(programmes.redemptions, [c.coupon_id for c in found])
        shown = [{**plain(c), "redeemed": used.get(c.coupon_id, 0)} for c in found]
        return json_response({"coupons": shown})

    @api.post("/v1/coupons/{coupon_id}/redemptions")
    async def redeem(coupon_id: str, body: Redemption) -> Response:
        done = await run_in_threadpool(
            programmes.redeem, coupon_id, body.redemption_id, body.customer_id, clock.now()
        )
        if done == stored.UNKNOWN:
            raise NotFound(f"no coupon {coupon_id!r}")
        if done == stored.LIMIT_REACHED:
            raise Conflict(f"coupon {coupon_id!r} reached its redemption limit", code=done)
        return json_response(
            {"couponId": coupon_id, "status": done}, 201 if done == "redeemed" else 200
        )

    @api.get("/v1/associates")
    async def associates(store: Text = None, skill: Text = None) -> Response:
        found = await run_in_threadpool(programmes.associates, store)
        if skill:
            found = [a for a in found if any(skill.lower() in s.lower() for s in a.skills)]
        return json_response({"associates": [plain(a) for a in found]})

    @api.get("/v1/products/{product_id}/reviews")
    async def reviews(product_id: str) -> Response:
        found = await run_in_threadpool(programmes.reviews, product_id)
        body = {"productId": product_id, "summary": offers.summary(found)}
        return json_response({**body, "reviews": [plain(r) for r in found]})

    return api
