"""The demo storefront: a small shop to walk a journey by hand in a browser.

Served under ``/demo/`` by ``juncture demo`` (and by ``juncture serve`` when
``JUNCTURE_DEMO_STOREFRONT`` is on): home, category, product, cart, checkout and a store
locator, one HTML shell (``shop.html``) that ``shop.js`` fills from ``/demo/catalog.json``, the
simulated retailer's catalogue (:func:`juncture.sim.catalog.build_catalog`, the demo's seed)
with the prices the retailer's tables hold when the page asks (a price changed through
``PATCH /v1/products/{id}`` or a feed shows on the next page).
It tracks with Segment's own browser library, vendored in ``vendor/`` by
``scripts/vendor-assets-storefront``, sending to this server and loading no settings from
anywhere, and shows Juncture's popovers with ``/v1/juncture.js``. Same origin as the API, so
no CORS setting is needed. The product page has inline slots for similar products and the
touchpoints of the retailer's tables (price drop, back in stock, low stock, pickup, specs,
reviews), the cart page for products bought together, the best coupon and the loyalty
account; :func:`stock` fills those tables with the shop's catalogue for the demo.
"""

from __future__ import annotations

import datetime as dt
import io
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from typing import Any, Final

import orjson
from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from juncture.errors import NotFound
from juncture.runtime.catalog_import import import_feed
from juncture.runtime.clock import Clock
from juncture.sim import feeds
from juncture.sim.catalog import Catalog, build_catalog
from juncture.store.sql import SqlStore

PREFIX: Final = "/demo"
PAGES: Final = ("home", "category", "product", "cart", "checkout", "stores")
FEATURED: Final = 8
_TYPES: Final = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8"}
_CACHE: Final = {"Cache-Control": "public, max-age=3600"}
_FRESH: Final = {"Cache-Control": "no-cache"}  # prices change: asked again on every page
Prices = dict[str, tuple[float | None, float | None]]  # CatalogStore.prices
# The page that asks Juncture for a popover when it opens (the others only when leaving).
_POPOVER: Final = {"home": "home"}


def _files() -> Traversable:
    return resources.files(__package__)


@cache
def _shell() -> str:
    return _files().joinpath("shop.html").read_text(encoding="utf-8")


def page(kind: str, write_key: str) -> str:
    """The shell for a page ``kind`` (one of :data:`PAGES`)."""
    placement = _POPOVER.get(kind)
    attr = f' data-placement="{placement}"' if placement else ""
    return (
        _shell()
        .replace("{{page}}", kind)
        .replace("{{write_key}}", write_key)
        .replace("{{placement}}", attr)
    )


def catalogue(catalog: Catalog) -> dict[str, Any]:
    """What the shop's pages show: leaf categories, products with stock per store, stores."""
    stores = catalog.stores
    return {
        "categories": [{"id": c.category_id, "name": " / ".join(c.path)} for c in catalog.leaves],
        "products": [
            {
                "id": p.product_id,
                "sku": p.sku,
                "name": p.name,
                "brand": p.brand,
                "description": p.description,
                "category_id": p.category_id,
                "category": p.category,
                "price": p.price,
                "stock": {s.location_id: p.stock_at(s.location_id) for s in stores},
            }
            for p in catalog.products
        ],
        "stores": [
            {"code": s.location_id, "name": s.name, "city": s.city, "country": s.country}
            for s in stores
        ],
        "featured": [p.product_id for p in catalog.products[:FEATURED]],
        "currency": "USD",
    }


def vendored() -> list[str]:
    """The names of the vendored files (Segment's browser library and its chunks)."""
    return sorted(f.name for f in _files().joinpath("vendor").iterdir() if f.is_file())


def _asset(folder: Traversable, name: str) -> Response:
    """A file of ``folder`` by plain name (no paths), with its type and a cache header."""
    file = folder.joinpath(name)
    if "/" in name or name.startswith(".") or not file.is_file():
        raise NotFound(f"no file {name!r} in the storefront", where="path")
    kind = _TYPES.get(name[name.rfind(".") :], "application/octet-stream")
    return Response(file.read_bytes(), media_type=kind, headers=_CACHE)


def stock(store: SqlStore, now: dt.datetime, seed: int = 1) -> bool:
    """Fill the retailer's tables with the shop's catalogue when they hold no product (the
    simulated retailer's feeds, :mod:`juncture.sim.feeds`, through the import path of
    ``juncture catalog import``, as ``juncture demo`` loads them), so the product and cart
    pages' touchpoints answer about what the shop shows; whether it did."""
    if store.catalog.counts()["products"]:
        return False
    for kind, data in feeds.feeds(build_catalog(seed), (), now).items():
        name = f"storefront-{kind}.jsonl"
        report = import_feed(
            store.catalog, store.programmes, io.BytesIO(data), name, kind=kind, now=now,
            fmt="jsonl",
        )  # fmt: skip
        if report.refused:
            problem = report.refused[0]
            raise RuntimeError(f"{name}:{problem.line}: {problem.column}: {problem.message}")
    return True


def priced(shop: dict[str, Any], prices: Prices) -> dict[str, Any]:
    """The shop's catalogue with each product's price as the retailer's tables have it now
    (``list_price``: the regular price while a sale is on); a product they do not hold keeps
    the simulated catalogue's."""
    products = [_price(p, *prices.get(p["id"], (None, None))) for p in shop["products"]]
    return {**shop, "products": products}


def _price(product: dict[str, Any], now: float | None, regular: float | None) -> dict[str, Any]:
    return product if now is None else {**product, "price": now, "list_price": regular}


def mount(app: FastAPI, write_key: str, store: SqlStore, clock: Clock, seed: int = 1) -> None:
    """Add the storefront's routes to ``app``; its pages track with ``write_key`` and show
    the prices ``store``'s retailer tables hold at ``clock``'s now."""
    shop = catalogue(build_catalog(seed))
    vendor = _files().joinpath("vendor")

    @app.get(PREFIX, include_in_schema=False)
    async def to_home() -> Response:
        return RedirectResponse(f"{PREFIX}/")

    @app.get("/cart", include_in_schema=False)  # where the cart reminder's link points
    async def to_cart() -> Response:
        return RedirectResponse(f"{PREFIX}/cart")

    @app.get(f"{PREFIX}/catalog.json", include_in_schema=False)
    async def catalog_json() -> Response:
        prices = await run_in_threadpool(store.catalog.prices, clock.now())
        body = orjson.dumps(priced(shop, prices))
        return Response(body, media_type="application/json", headers=_FRESH)

    @app.get(f"{PREFIX}/static/{{name}}", include_in_schema=False)
    async def static(name: str) -> Response:
        return _asset(_files(), name)

    @app.get(f"{PREFIX}/vendor/{{name}}", include_in_schema=False)
    @app.get(f"{PREFIX}/cdn/analytics-next/bundles/{{name}}", include_in_schema=False)
    async def vendored(name: str) -> Response:
        return _asset(vendor, name)

    _pages(app, write_key)


def _pages(app: FastAPI, write_key: str) -> None:
    def shell(kind: str) -> Response:
        return Response(page(kind, write_key), media_type="text/html; charset=utf-8")

    @app.get(f"{PREFIX}/", include_in_schema=False)
    async def home() -> Response:
        return shell("home")

    @app.get(f"{PREFIX}/{{kind}}", include_in_schema=False)
    @app.get(f"{PREFIX}/{{kind}}/{{item}}", include_in_schema=False)
    async def other(kind: str, item: str = "") -> Response:
        if kind not in PAGES or kind == "home" or bool(item) != (kind in ("category", "product")):
            raise NotFound(f"no storefront page {kind!r}", where="path")
        return shell(kind)
