"""Shoppers' own records over HTTP: wish lists (admin: ``Authorization: Bearer``), the link
that rebuilds a cart (public: the signed token is the proof), and endless-aisle orders
(admin: the store's till or app places them)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from juncture.api.auth import admin_only
from juncture.api.errors import json_response
from juncture.core import engagement, retail
from juncture.core import retail_views as views
from juncture.errors import NotFound
from juncture.runtime.cart_links import LinkRefused
from juncture.runtime.catalog_visits import Order, Visitors
from juncture.runtime.clock import Clock
from juncture.runtime.touchpoints import Touchpoints

_ID = Field(min_length=1, max_length=200)


Key = Annotated[str, Path(min_length=1, max_length=200)]  # as the id columns


class WishBody(BaseModel):
    price: float | None = Field(default=None, ge=0, le=1e9)
    wishlist_id: str | None = Field(default=None, alias="wishlistId", min_length=1, max_length=200)


class Sharing(BaseModel):
    shared: bool


class OrderBody(BaseModel):
    order_id: str = Field(alias="orderId", min_length=1, max_length=200)
    customer_id: str = Field(alias="customerId", min_length=1, max_length=200)
    product_id: str = Field(alias="productId", min_length=1, max_length=200)
    ship_from: str = Field(alias="shipFrom", min_length=1, max_length=200)
    store_code: str | None = Field(default=None, alias="storeCode", min_length=1, max_length=200)
    quantity: int = Field(default=1, ge=1, le=1000)


def router(
    touchpoints: Touchpoints, visitors: Visitors, admin_token: str | None, clock: Clock
) -> APIRouter:
    api = APIRouter(tags=["catalog"])
    admin = [admin_only(admin_token)]
    wishes, catalog = touchpoints.wishes, touchpoints.catalog

    @api.get("/v1/wishlists/{customer_id}", dependencies=admin)
    async def wish_list(customer_id: Key) -> Response:
        owner = [f"user_id:{customer_id}"]
        await run_in_threadpool(wishes.fold, clock.now())
        items = await run_in_threadpool(wishes.items, owner)
        shared = await run_in_threadpool(wishes.shared, owner)
        return json_response(
            {"customerId": customer_id, "shared": shared, "items": [_wish(w) for w in items]}
        )

    @api.put("/v1/wishlists/{customer_id}/items/{product_id}", dependencies=admin)
    async def add(customer_id: Key, product_id: Key, body: WishBody) -> Response:
        wish = engagement.Wish(
            f"user_id:{customer_id}", product_id, clock.now(), body.price, body.wishlist_id
        )
        await run_in_threadpool(wishes.put, wish)
        return json_response(_wish(wish))

    @api.delete("/v1/wishlists/{customer_id}/items/{product_id}", dependencies=admin)
    async def remove(customer_id: Key, product_id: Key) -> Response:
        now = clock.now()
        wish = engagement.Wish(f"user_id:{customer_id}", product_id, now, removed_at=now)
        await run_in_threadpool(wishes.put, wish)
        return json_response({"customerId": customer_id, "productId": product_id})

    @api.put("/v1/wishlists/{customer_id}/sharing", dependencies=admin)
    async def share(customer_id: Key, body: Sharing) -> Response:
        await run_in_threadpool(wishes.share, f"user_id:{customer_id}", body.shared, clock.now())
        return json_response({"customerId": customer_id, "shared": body.shared})

    @api.get("/v1/carts/restore/{token}")
    async def restore(token: str) -> Response:
        """The cart a link names, priced now: what the storefront adds back."""
        if touchpoints.links is None:
            raise NotFound("cart links are off: set JUNCTURE_IDENTITY_SECRET", code="links_off")
        try:
            found = touchpoints.links.restore(token)
        except LinkRefused as exc:
            if exc.expired:
                body = {"code": "link_expired", "message": "this cart link has expired"}
                return json_response(body, 410)
            raise NotFound("no cart has this link", code="unknown_link") from exc
        products = await run_in_threadpool(catalog.products, [pid for pid, _ in found.lines])
        now = clock.now()
        items = [_line(pid, qty, products.get(pid), now) for pid, qty in found.lines]
        return json_response({"items": items, "expiresAt": found.expires_at.isoformat()})

    @api.post("/v1/orders/endless-aisle", dependencies=admin)
    async def order(body: OrderBody) -> Response:
        placed = Order(
            body.order_id, body.customer_id, body.product_id, body.ship_from, body.quantity,
            body.store_code,
        )  # fmt: skip
        props = await run_in_threadpool(visitors.place, placed)
        return json_response({"event": "Order Completed", "properties": props}, 201)

    return api


def _wish(w: engagement.Wish) -> dict[str, Any]:
    return {"productId": w.product_id, "addedAt": w.added_at.isoformat(), "price": w.price,
            "wishlistId": w.wishlist_id}  # fmt: skip


def _line(
    pid: str, quantity: int, product: retail.Product | None, now: dt.datetime
) -> dict[str, Any]:
    if product is None:
        return {"productId": pid, "quantity": quantity, "available": False, "product": None}
    return {"productId": pid, "quantity": quantity,
            "available": product.availability in retail.SELLABLE,
            "product": views.product_json(product, now)}  # fmt: skip
