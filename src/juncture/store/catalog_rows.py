"""The retailer's records (:mod:`juncture.core.retail`) to the columns of
:mod:`juncture.store.catalog_tables` and back."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import orjson

from juncture.core import retail
from juncture.core.events import as_utc


def _time(value: Any) -> dt.datetime | None:
    return None if value is None else as_utc(value)


def product_row(p: retail.Product, at: dt.datetime, feed_hash: str | None = None) -> dict[str, Any]:
    """The row of ``p``; ``feed_hash``: the fingerprint of the feed row it was built from
    (None for a change made otherwise, so that the next feed's row is built again)."""
    return {
        "product_id": p.id,
        "item_group_id": p.item_group_id,
        "title": p.title,
        "description": p.description,
        "link": p.link,
        "image_link": p.image_link,
        "brand": p.brand,
        "category": p.category,
        "google_product_category": p.google_product_category,
        "gtin": p.gtin,
        "mpn": p.mpn,
        "price": p.price,
        "currency": p.currency,
        "sale_price": p.sale_price,
        "sale_starts": p.sale_starts,
        "sale_ends": p.sale_ends,
        "availability": p.availability,
        "availability_date": p.availability_date,
        "condition": p.condition,
        "color": p.color,
        "size": p.size,
        "material": p.material,
        "gender": p.gender,
        "age_group": p.age_group,
        "details": orjson.dumps([[d.section, d.name, d.value] for d in p.details]).decode(),
        "attributes": orjson.dumps(dict(p.attributes), option=orjson.OPT_SORT_KEYS).decode(),
        "updated_at": at,
        "retired_at": None,
        "feed_hash": feed_hash,
    }


def related_rows(p: retail.Product) -> tuple[dict[str, Any], ...]:
    """The rows of ``p``'s related lists: one per kind and product, at its last position."""
    if not p.related:
        return ()
    if len(p.related) == 1:  # no list to make unique
        (r,) = p.related
        return ({"product_id": p.id, "kind": r.kind, "related_id": r.product_id, "position": 0},)
    found = {(r.kind, r.product_id): n for n, r in enumerate(p.related)}
    return tuple(
        [
            {"product_id": p.id, "kind": kind, "related_id": other, "position": n}
            for (kind, other), n in found.items()
        ]
    )


New = tuple[dict[str, Any], tuple[dict[str, Any], ...]]  # a product's row, its related rows


def new_product(p: retail.Product, at: dt.datetime, feed_hash: str | None = None) -> New:
    """The rows of a product that is not stored (:meth:`Catalog.upsert_products`' ``new``):
    plain values only, so that a transaction's worth of them costs the garbage collector
    nothing while they wait for it."""
    return product_row(p, at, feed_hash), related_rows(p)


def product(row: Mapping[str, Any], related: tuple[retail.Related, ...] = ()) -> retail.Product:
    return retail.Product(
        id=row["product_id"],
        title=row["title"],
        description=row["description"],
        link=row["link"],
        image_link=row["image_link"],
        brand=row["brand"],
        category=row["category"],
        google_product_category=row["google_product_category"],
        gtin=row["gtin"],
        mpn=row["mpn"],
        item_group_id=row["item_group_id"],
        price=row["price"],
        currency=row["currency"],
        sale_price=row["sale_price"],
        sale_starts=_time(row["sale_starts"]),
        sale_ends=_time(row["sale_ends"]),
        availability=row["availability"],
        availability_date=_time(row["availability_date"]),
        condition=row["condition"],
        color=row["color"],
        size=row["size"],
        material=row["material"],
        gender=row["gender"],
        age_group=row["age_group"],
        details=tuple(retail.Detail(*d) for d in orjson.loads(row["details"])),
        related=related,
        attributes=orjson.loads(row["attributes"]),
    )


_STOCK = (
    "quantity", "availability", "price", "currency", "sale_price", "pickup_method",
    "pickup_sla", "department", "aisle", "bay",
)  # fmt: skip


def stock_row(s: retail.Stock, at: dt.datetime) -> dict[str, Any]:
    found = {name: getattr(s, name) for name in _STOCK}
    return found | {
        "product_id": s.product_id,
        "store_code": s.store_code,
        "sale_starts": s.sale_starts,
        "sale_ends": s.sale_ends,
        "updated_at": at,
    }


def stock(row: Mapping[str, Any]) -> retail.Stock:
    return retail.Stock(
        product_id=row["product_id"],
        store_code=row["store_code"],
        sale_starts=_time(row["sale_starts"]),
        sale_ends=_time(row["sale_ends"]),
        **{name: row[name] for name in _STOCK},
    )


_LOCATION = (
    "store_code", "name", "kind", "address", "locality", "region", "postal_code", "country",
    "latitude", "longitude", "phone", "time_zone",
)  # fmt: skip


def location_row(loc: retail.Location, at: dt.datetime) -> dict[str, Any]:
    hours = {day: list(span) for day, span in loc.hours.items()}
    found = {name: getattr(loc, name) for name in _LOCATION}
    return found | {"hours": orjson.dumps(hours).decode(), "updated_at": at, "retired_at": None}


def location(row: Mapping[str, Any]) -> retail.Location:
    hours = {day: (span[0], span[1]) for day, span in orjson.loads(row["hours"]).items()}
    return retail.Location(hours=hours, **{name: row[name] for name in _LOCATION})
