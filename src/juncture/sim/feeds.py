"""The simulated retailer's tables as the feeds a retailer produces for its ad channels.

:func:`feeds` writes the catalogue (:mod:`juncture.sim.catalog`) and the retailer's
programmes as JSON lines in Merchant Center's attribute names (products with a spec sheet and
related lists, the local inventory feed with aisles, locations with coordinates and hours)
and in the columns of Juncture's programme feeds (loyalty tiers and accounts, promotions,
coupons, associates, reviews, store events), so the demo imports them through the same path
as ``juncture catalog import``. :func:`changes` is a day's delta: stock that runs out and
comes back, prices that drop. The same seed gives the same feeds.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Sequence
from typing import Any, Final

import orjson

from juncture.sim.catalog import Catalog, Product
from juncture.sim.personas import Customer

# Where the stores and the warehouse are (latitude, longitude).
COORDINATES: Final = {
    "store-nyc": (40.7233, -74.0030),
    "store-chi": (41.8947, -87.6244),
    "store-lon": (51.5117, -0.1240),
    "store-ber": (52.5323, 13.4014),
    "wh-cmh": (39.9612, -82.9988),
}
DAYS: Final = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
TIERS: Final = (("bronze", "Bronze", 0), ("silver", "Silver", 500), ("gold", "Gold", 2000))
ASSOCIATES_PER_STORE: Final = 3


def feeds(catalog: Catalog, customers: Sequence[Customer], start: dt.datetime) -> dict[str, bytes]:
    """Every table's feed (kind to JSON lines), in the order they are to be imported."""
    rng = random.Random(f"feeds:{len(catalog.products)}:{catalog.products[0].product_id}")
    until = (start + dt.timedelta(days=60)).isoformat()
    during = f"{start.isoformat()}/{until}"
    rows: dict[str, list[dict[str, Any]]] = {
        "locations": [_location(loc.location_id, loc.name, loc.kind, loc.city, loc.country)
                      for loc in catalog.locations],
        "products": [_product(catalog, p) for p in catalog.products],
        "inventory": [_stock(p, code, quantity) for p in catalog.products
                      for code, quantity in p.inventory],
        "loyalty_tiers": [{"tier": t, "name": name, "threshold": points}
                          for t, name, points in TIERS],
        "loyalty": [{"customer_id": c.user_id, "points": rng.randint(0, 2600)}
                    for c in customers if c.loyalty_id is not None],
        "promotions": _promotions(catalog, during),
        "coupons": _coupons(catalog, during),
        "associates": _associates(catalog),
        "reviews": _reviews(rng, catalog, start),
        "store_events": _store_events(catalog, start),
    }  # fmt: skip
    return {kind: _jsonl(found) for kind, found in rows.items()}


def changes(catalog: Catalog, day: int) -> dict[str, bytes]:
    """Day ``day``'s delta feeds: a few store lines run out and others come back, a few
    products go on sale (``sale_price`` from that day)."""
    rng = random.Random(f"changes:{day}")
    picks = rng.sample(catalog.products, k=min(len(catalog.products), 12))
    stores = [loc.location_id for loc in catalog.stores]
    stock = [
        _stock(p, rng.choice(stores), 0 if i % 2 else rng.randint(2, 12))
        for i, p in enumerate(picks[:8])
    ]
    sales = [
        _product(catalog, p) | {"sale_price": f"{round(p.price * 0.8, 2):.2f} USD"}
        for p in picks[8:]
    ]
    return {"inventory": _jsonl(stock), "products": _jsonl(sales)}


def _jsonl(rows: list[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(row) + b"\n" for row in rows)


def _location(code: str, name: str, kind: str, city: str, country: str) -> dict[str, Any]:
    latitude, longitude = COORDINATES[code]
    hours = "10:00-19:00" if kind == "store" else "06:00-22:00"
    return {
        "store_code": code, "name": name, "kind": kind, "locality": city, "country": country,
        "latitude": latitude, "longitude": longitude,
        **{f"{day}_hours": hours for day in DAYS},
    }  # fmt: skip


def _product(catalog: Catalog, p: Product) -> dict[str, Any]:
    rng = random.Random(f"product:{p.product_id}")
    siblings = [q.product_id for q in catalog.in_leaf(p.category_id) if q is not p]
    department, section, leaf = p.category_path
    details = [
        f"General:Brand:{p.brand}",
        f"General:Department:{department}",
        f"General:Type:{leaf}",
        f"Features:Range:{p.name.split()[1] if len(p.name.split()) > 2 else section}",
        f"Features:Warranty:{rng.choice((1, 2, 3))} years",
    ]
    return {
        "id": p.product_id,
        "title": p.name,
        "description": p.description,
        "link": f"https://shop.juncture.example/p/{p.product_id}",
        "image_link": f"https://shop.juncture.example/img/{p.product_id}.jpg",
        "price": f"{p.price:.2f} USD",
        "availability": "in_stock" if dict(p.inventory).get("wh-cmh", 0) else "out_of_stock",
        "brand": p.brand,
        "mpn": p.sku,
        "product_type": p.category,
        "product_detail": details,
        "related_products": rng.sample(siblings, k=min(2, len(siblings))),
        "custom_label_0": f"margin {p.margin:.2f}",
    }


def _stock(p: Product, code: str, quantity: int) -> dict[str, Any]:
    aisle = 1 + int(p.product_id[1:]) % 24
    return {
        "store_code": code, "id": p.product_id, "quantity": quantity,
        "pickup_method": "buy", "pickup_sla": "same day" if code.startswith("store") else "2-day",
        "department": p.category_path[0], "aisle": str(aisle), "bay": str(1 + aisle % 6),
    }  # fmt: skip


def _promotions(catalog: Catalog, during: str) -> list[dict[str, Any]]:
    departments = sorted({p.category_path[0] for p in catalog.products})
    return [
        {"promotion_id": f"promo-{d.lower()}", "long_title": f"15% off {d}",
         "promotion_effective_dates": during, "percent_off": 15, "product_type": d}
        for d in departments[:2]
    ]  # fmt: skip


def _coupons(catalog: Catalog, during: str) -> list[dict[str, Any]]:
    brands = sorted({p.brand for p in catalog.products})
    found: list[dict[str, Any]] = [
        {"coupon_id": f"sup-{i}", "title": f"$10 off {b}", "issuer": b, "issuer_kind": "supplier",
         "effective_dates": during, "money_off_amount": "10.00 USD", "brand": b,
         "code": f"SUP{i:02d}", "redemption_limit": 500}
        for i, b in enumerate(brands[::4])
    ]  # fmt: skip
    for store in catalog.stores:
        found.append({
            "coupon_id": f"mall-{store.location_id}", "title": f"10% off at {store.name}",
            "issuer": f"{store.city} mall", "issuer_kind": "mall", "effective_dates": during,
            "percent_off": 10, "store_code": store.location_id, "code": "MALL10",
            "redemption_limit": 1000,
        })  # fmt: skip
    return found


def _associates(catalog: Catalog) -> list[dict[str, Any]]:
    departments = sorted({p.category_path[0] for p in catalog.products})
    found = []
    for s, store in enumerate(catalog.stores):
        for a in range(ASSOCIATES_PER_STORE):
            skills = [departments[(s + a + k) % len(departments)] for k in range(2)]
            found.append({
                "associate_id": f"{store.location_id}-a{a + 1}", "name": f"Associate {a + 1}",
                "store_code": store.location_id, "skills": skills,
                **{f"{day}_hours": "10:00-19:00" for day in DAYS},
            })  # fmt: skip
    return found


def _reviews(rng: random.Random, catalog: Catalog, start: dt.datetime) -> list[dict[str, Any]]:
    found = []
    for p in catalog.products[::3]:
        for n in range(rng.randint(1, 3)):
            found.append({
                "review_id": f"r-{p.product_id}-{n}", "product_id": p.product_id,
                "rating": rng.choices((2, 3, 4, 5), (1, 2, 4, 4))[0],
                "author_kind": rng.choices(("customer", "influencer", "media"), (8, 1, 1))[0],
                "content": f"Reviewed the {p.name}.",
                "review_timestamp": (start - dt.timedelta(days=rng.randint(5, 200))).isoformat(),
            })  # fmt: skip
    return found


LAUNCH_STEP: Final = 211  # products apart, those a store's launch features (by department)


def _store_events(catalog: Catalog, start: dt.datetime) -> list[dict[str, Any]]:
    found = []
    for s, store in enumerate(catalog.stores):
        featured = catalog.products[s * 7 :: LAUNCH_STEP][:3]  # a launch across departments
        starts = start.replace(hour=17) + dt.timedelta(days=4 + 5 * s)
        found.append({
            "event_id": f"ev-{store.location_id}", "title": f"Spring launch at {store.name}",
            "starts_at": starts.isoformat(), "store_code": store.location_id,
            "product_ids": [p.product_id for p in featured], "capacity": 40,
            "product_lines": sorted({p.category_path[0] for p in featured}),
            "associate_ids": [f"{store.location_id}-a1"],
        })  # fmt: skip
    return found
