"""The retailer's tables over HTTP (``Authorization: Bearer $JUNCTURE_ADMIN_TOKEN``).

``POST /v1/catalog/{kind}`` takes a feed as the raw body (``products``, ``inventory`` or
``locations``; TSV, CSV, XML or JSON lines, by ``Content-Type`` or ``?format=``, else
guessed) and upserts it as ``juncture catalog import`` does: the answer is the import's
report, ``200`` when every row went in, ``422 rows_refused`` with each refused row's
``where`` (``file:line``), ``column`` and ``message`` when some did not (the others are
imported). A single change: one stock level is an inventory feed of one JSON line, and
``PATCH /v1/products/{id}`` changes a product's price, sale price or availability alone
(the rest of the product as it is). Price drops and returns to stock become events for the
shoppers who viewed the product (``announce``, :mod:`juncture.runtime.catalog_events`).

Reads: ``GET /v1/products/{id}`` (with its variants and related products),
``GET /v1/products`` (search by ``q``, ``category``, ``brand``, ``group``),
``GET /v1/products/{id}/stock`` (every location's line, nearest first with ``near``),
``GET /v1/locations`` and ``GET /v1/locations/{store_code}/stock``.
"""

from __future__ import annotations

import io
from typing import Annotated, Any, Final

from fastapi import APIRouter, Body, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from juncture.api import body
from juncture.api.auth import admin_only
from juncture.api.errors import json_response
from juncture.api.params import At, moment
from juncture.core import retail
from juncture.core import retail_views as views
from juncture.definitions import catalog as feed
from juncture.definitions import feeds
from juncture.errors import BadInput, NotFound
from juncture.runtime.catalog_import import Announce, change_product, import_feed
from juncture.runtime.clock import Clock
from juncture.store.catalog import MAX_SEARCH, Catalog
from juncture.store.programmes import Programmes

MAX_FEED: Final = 64 << 20  # bytes of one upload; larger feeds go through the CLI
_MEDIA: Final = {
    "text/tab-separated-values": "tsv",
    "text/csv": "csv",
    "application/xml": "xml",
    "text/xml": "xml",
    "application/rss+xml": "xml",
    "application/atom+xml": "xml",
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "application/json": "jsonl",
}
_TEXT: Final = {"schema": {"type": "string"}}
_FEED_BODY: Final = {
    "requestBody": {"required": True, "content": {media: _TEXT for media in _MEDIA}}
}
Limit = Annotated[int, Query(ge=1, le=MAX_SEARCH)]
Near = Annotated[
    str | None, Query(description="latitude,longitude: nearest first, with distanceKm")
]


class RowsRefused(BadInput):
    status = 422
    code = "rows_refused"


def router(
    catalog: Catalog,
    programmes: Programmes,
    admin_token: str | None,
    clock: Clock,
    timeout: float,
    *,
    announce: Announce | None,
) -> APIRouter:
    api = APIRouter(dependencies=[admin_only(admin_token)], tags=["catalog"])

    @api.post("/v1/catalog/{kind}", openapi_extra=_FEED_BODY)
    async def upload(
        request: Request,
        kind: str,
        fmt: Annotated[str | None, Query(alias="format", pattern="^(tsv|csv|xml|jsonl)$")] = None,
        full: bool = False,
        filename: Annotated[str | None, Query(max_length=200)] = None,
    ) -> Response:
        if kind not in feed.KINDS:
            raise NotFound(f"no catalog kind {kind!r}: use one of {', '.join(feed.KINDS)}")
        raw = await body.read(request, limit=MAX_FEED, timeout=timeout)
        media = request.headers.get("content-type", "").split(";")[0].strip().lower()
        fmt = fmt or _MEDIA.get(media) or feeds.guess(filename or "", raw[:4096])
        name = filename or f"body.{fmt}"
        report = await run_in_threadpool(
            import_feed, catalog, programmes, io.BytesIO(raw), name, kind=kind, now=clock.now(),
            fmt=fmt, full=full, announce=announce,
        )  # fmt: skip
        answer = report.to_json(name)
        if report.refused_rows:
            listed = len(report.refused)
            more = f" (the first {listed} of {report.problems:,} problems listed)"
            refused = RowsRefused(
                f"{report.refused_rows:,} of {report.rows:,} rows refused"
                f"{more if report.problems > listed else ''}; the others were imported",
                where=answer["problems"][0]["where"],
            )
            return json_response({**refused.to_json(), **answer}, refused.status)
        return json_response(answer)

    @api.get("/v1/products")
    async def search(
        *,
        q: Annotated[str | None, Query(max_length=200)] = None,
        category: Annotated[str | None, Query(max_length=500)] = None,
        brand: Annotated[str | None, Query(max_length=200)] = None,
        group: Annotated[str | None, Query(max_length=200)] = None,
        limit: Limit = 50,
        after: Annotated[str, Query(max_length=200)] = "",
        at: At = None,
    ) -> Response:
        found = await run_in_threadpool(
            catalog.search, text=q, category=category, brand=brand, group=group, limit=limit,
            after=after,
        )  # fmt: skip
        now = moment(at) if at is not None else clock.now()
        return json_response({"products": [views.product_json(p, now) for p in found]})

    @api.get("/v1/products/{product_id}")
    async def show(product_id: str, at: At = None) -> Response:
        now = moment(at) if at is not None else clock.now()
        found = await run_in_threadpool(_product, catalog, product_id)
        product, variants = found
        return json_response(
            {**views.product_json(product, now), "variants": [v.id for v in variants]}
        )

    @api.patch("/v1/products/{product_id}")
    async def change(product_id: str, given: Annotated[dict[str, Any], Body()]) -> Response:
        now = clock.now()
        product, _ = await run_in_threadpool(_product, catalog, product_id)
        changed, problems = feed.product_change(product, given)
        if changed is None:
            first = problems[0]
            raise BadInput(f"{first.column}: {first.message}", where=first.column)
        report = await run_in_threadpool(
            change_product, catalog, changed, now=now, announce=announce
        )
        return json_response({**views.product_json(changed, now), "changed": bool(report.changed),
                              "announced": report.announced})  # fmt: skip

    @api.get("/v1/products/{product_id}/stock")
    async def product_stock(product_id: str, near: Near = None, at: At = None) -> Response:
        now = moment(at) if at is not None else clock.now()
        where = _near(near)
        product, _ = await run_in_threadpool(_product, catalog, product_id)
        lines = await run_in_threadpool(catalog.stock_of, product_id)
        places = {x.store_code: x for x in await run_in_threadpool(catalog.locations)}
        shown = [_line(s, product, places.get(s.store_code), where, now) for s in lines]
        if where is not None:
            shown.sort(key=lambda x: (x["distanceKm"] is None, x["distanceKm"] or 0))
        return json_response({"productId": product_id, "stock": shown})

    _locations(api, catalog, clock)
    return api


def _locations(api: APIRouter, catalog: Catalog, clock: Clock) -> None:
    @api.get("/v1/locations")
    async def list_locations(
        kind: Annotated[str | None, Query(pattern="^(store|warehouse)$")] = None,
    ) -> Response:
        found = await run_in_threadpool(catalog.locations, kind)
        return json_response({"locations": [views.location_json(x) for x in found]})

    @api.get("/v1/locations/{store_code}/stock")
    async def location_stock(store_code: str, at: At = None) -> Response:
        now = moment(at) if at is not None else clock.now()
        place = await run_in_threadpool(catalog.location, store_code)
        if place is None:
            raise NotFound(f"no location {store_code!r}")
        lines = await run_in_threadpool(catalog.stock_at, store_code)
        products = await run_in_threadpool(catalog.products, [s.product_id for s in lines])
        shown = [views.stock_json(s, products.get(s.product_id), now) for s in lines]
        return json_response({"location": views.location_json(place), "stock": shown})


def _product(catalog: Catalog, product_id: str) -> tuple[retail.Product, list[retail.Product]]:
    product = catalog.product(product_id)
    if product is None:
        raise NotFound(f"no product {product_id!r}")
    group = product.item_group_id
    variants = catalog.search(group=group, limit=MAX_SEARCH) if group else []
    return product, [v for v in variants if v.id != product.id]


def _near(near: str | None) -> tuple[float, float] | None:
    if near is None:
        return None
    lat, _, lon = near.partition(",")
    try:
        point = float(lat), float(lon)
    except ValueError:
        point = (999.0, 999.0)
    if not (-90 <= point[0] <= 90 and -180 <= point[1] <= 180):
        raise BadInput(
            f"near: {near!r} is not latitude,longitude such as 52.52,13.40",
            code="invalid_parameter",
            where="query.near",
        )
    return point


def _line(
    s: retail.Stock,
    product: retail.Product,
    place: retail.Location | None,
    near: tuple[float, float] | None,
    now: Any,
) -> dict[str, Any]:
    shown = views.stock_json(s, product, now)
    shown["location"] = None if place is None else views.location_json(place)
    if near is not None:
        far = None
        if place is not None and place.latitude is not None and place.longitude is not None:
            far = round(retail.distance_km(*near, place.latitude, place.longitude), 2)
        shown["distanceKm"] = far
    return shown
