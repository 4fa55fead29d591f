"""The retailer's records as JSON for the API, placements and templates (camelCase keys,
times as ISO 8601, the price in force at a moment)."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any, Final

from juncture.core import retail


def product_json(p: retail.Product, now: dt.datetime) -> dict[str, Any]:
    """A product as the API shows it, with the price in force at ``now``."""
    price, sale = retail.price_at(p, now)
    return {
        "id": p.id,
        "title": p.title,
        "description": p.description,
        "link": p.link,
        "imageLink": p.image_link,
        "brand": p.brand,
        "category": p.category,
        "googleProductCategory": p.google_product_category,
        "gtin": p.gtin,
        "mpn": p.mpn,
        "itemGroupId": p.item_group_id,
        "price": p.price,
        "salePrice": p.sale_price,
        "saleStarts": _iso(p.sale_starts),
        "saleEnds": _iso(p.sale_ends),
        "currentPrice": price,
        "onSale": sale,
        "currency": p.currency,
        "availability": p.availability,
        "availabilityDate": _iso(p.availability_date),
        "condition": p.condition,
        "color": p.color,
        "size": p.size,
        "material": p.material,
        "gender": p.gender,
        "ageGroup": p.age_group,
        "details": [{"section": d.section, "name": d.name, "value": d.value} for d in p.details],
        "related": [{"id": r.product_id, "kind": r.kind} for r in p.related],
        "attributes": dict(p.attributes),
    }


def stock_json(s: retail.Stock, product: retail.Product | None, now: dt.datetime) -> dict[str, Any]:
    return {
        "productId": s.product_id,
        "storeCode": s.store_code,
        "quantity": s.quantity,
        "availability": s.availability,
        "available": retail.available(s),
        "price": retail.stock_price_at(s, product, now),
        "currency": s.currency or (product.currency if product else None),
        "pickupMethod": s.pickup_method,
        "pickupSla": s.pickup_sla,
        "department": s.department,
        "aisle": s.aisle,
        "bay": s.bay,
    }


def location_json(loc: retail.Location) -> dict[str, Any]:
    return {
        "storeCode": loc.store_code,
        "name": loc.name,
        "kind": loc.kind,
        "address": loc.address,
        "locality": loc.locality,
        "region": loc.region,
        "postalCode": loc.postal_code,
        "country": loc.country,
        "latitude": loc.latitude,
        "longitude": loc.longitude,
        "phone": loc.phone,
        "hours": {day: f"{a}-{b}" for day, (a, b) in loc.hours.items()},
        "timeZone": loc.time_zone,
    }


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


EVENTS: Final = {
    retail.PRICE_DROP: "Product Price Dropped",
    retail.BACK_IN_STOCK: "Product Back In Stock",
}


def announcement(
    change: retail.Change, product: retail.Product, identifier: str, *, wishlisted: bool = False
) -> dict[str, Any]:
    """The Segment track message that tells one shopper (``user_id:...`` or
    ``anonymous_id:...``) of a change, with Segment's product properties (and
    ``wishlisted``: the product is on their wish list); its messageId names the change and
    the shopper, so announcing twice stores it once."""
    kind, _, who = identifier.partition(":")
    store = change.store_code or ""
    price, _ = retail.price_at(product, change.at)
    properties: dict[str, Any] = {
        "product_id": product.id,
        "name": product.title,
        "brand": product.brand,
        "category": product.category,
        "price": change.after if change.kind == retail.PRICE_DROP else price,
        "currency": product.currency,
        "url": product.link,
        "image_url": product.image_link,
    }
    if change.kind == retail.PRICE_DROP:
        properties["previous_price"] = change.before
    if store:
        properties["store_code"] = store
    if wishlisted:
        properties["wishlisted"] = True
    return {
        "type": "track",
        "event": EVENTS[change.kind],
        "userId" if kind == "user_id" else "anonymousId": who,
        "messageId": "catalog-" + _digest(change, identifier),
        "timestamp": change.at.isoformat(),
        "properties": {k: v for k, v in properties.items() if v is not None},
    }


def _digest(change: retail.Change, identifier: str) -> str:
    named = f"{change.kind}\x1f{change.product_id}\x1f{change.store_code or ''}"
    named += f"\x1f{change.at.isoformat()}\x1f{identifier}"
    return hashlib.sha256(named.encode()).hexdigest()[:40]
