"""Touchpoints answered from stock by location: few left nearby, where to pick up, where it
is in stock when not here, where it sits in the store, who can advise on it."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from juncture.core import comparisons, retail
from juncture.core.touchpoints.base import (
    LOW_STOCK,
    Ask,
    Facts,
    Interest,
    Shown,
    distance,
    nearest_store,
    origin,
    product_view,
    products_of,
    store_view,
)


def low_stock(
    ask: Ask, interest: Sequence[Interest], facts: Facts, now: dt.datetime
) -> Shown | str:
    store = nearest_store(ask, facts)
    if store is None:
        return "no_store"
    for pid in products_of(ask, interest):
        line = next((s for s in facts.stock.get(pid, ()) if s.store_code == store), None)
        if pid in facts.products and line and line.quantity and 0 < line.quantity <= LOW_STOCK:
            data = {
                "product": product_view(facts, pid, now),
                "store": store_view(facts, store),
                "quantity": line.quantity,
            }
            return Shown("low_stock", data, "low_stock", f"{pid}:{store}:{line.quantity}")
    return "no_low_stock"


def _places(
    ask: Ask, facts: Facts, pid: str, now: dt.datetime, *, pickup: bool
) -> list[dict[str, Any]]:
    start = origin(ask, facts)
    found = []
    for line in facts.stock.get(pid, ()):
        if not retail.available(line) or line.store_code == (
            ask.store_code if not pickup else None
        ):
            continue
        if pickup and line.pickup_method in (None, "not_supported"):
            continue
        place = facts.locations.get(line.store_code)
        found.append(
            {
                "store": store_view(facts, line.store_code),
                "kind": place.kind if place else "store",
                "quantity": line.quantity,
                "price": retail.stock_price_at(line, facts.products.get(pid), now),
                "pickupMethod": line.pickup_method,
                "pickupSla": line.pickup_sla,
                "readyInDays": retail.PICKUP_DAYS.get(line.pickup_sla or ""),
                "distanceKm": distance(facts, line.store_code, start),
            }
        )
    return sorted(found, key=_nearest_first)


def _nearest_first(place: dict[str, Any]) -> tuple[bool, float, str]:
    far = place["distanceKm"]
    return far is None, far or 0.0, str(place["store"]["storeCode"])


def pickup(ask: Ask, interest: Sequence[Interest], facts: Facts, now: dt.datetime) -> Shown | str:
    pid = next((p for p in products_of(ask, interest) if p in facts.products), None)
    if pid is None:
        return "no_product"
    places = [p for p in _places(ask, facts, pid, now, pickup=True) if p["kind"] == "store"]
    if not places:
        return "no_pickup"
    data = {"product": product_view(facts, pid, now), "stores": places}
    return Shown("pickup", data, "pickup")


def endless_aisle(
    ask: Ask, _interest: Sequence[Interest], facts: Facts, now: dt.datetime
) -> Shown | str:
    pid = ask.product_id
    if pid is None or pid not in facts.products:
        return "no_product"
    here = next((s for s in facts.stock.get(pid, ()) if s.store_code == ask.store_code), None)
    if here is not None and retail.available(here):
        return "in_stock_here"
    places = _places(ask, facts, pid, now, pickup=False)
    if not places:
        return "nowhere_in_stock"
    data = {"product": product_view(facts, pid, now), "elsewhere": places}
    if ask.store_code:
        data["store"] = store_view(facts, ask.store_code)
    return Shown("endless_aisle", data, "out_of_stock_here")


def product_location(
    ask: Ask, _interest: Sequence[Interest], facts: Facts, now: dt.datetime
) -> Shown | str:
    pid = ask.product_id
    if pid is None or pid not in facts.products:
        return "no_product"
    line = next((s for s in facts.stock.get(pid, ()) if s.store_code == ask.store_code), None)
    data: dict[str, Any] = {"product": product_view(facts, pid, now)}
    if line is not None and (line.aisle or line.department or line.bay):
        data |= {"store": store_view(facts, line.store_code), "department": line.department,
                 "aisle": line.aisle, "bay": line.bay}  # fmt: skip
        return Shown("product_location", data, "in_store")
    data["categoryPath"] = facts.products[pid].category
    return Shown("product_location", data, "online")


def expert(ask: Ask, interest: Sequence[Interest], facts: Facts, now: dt.datetime) -> Shown | str:
    """Associates at the shopper's store (or the nearest) who know the product's line."""
    pid = next((p for p in products_of(ask, interest) if p in facts.products), None)
    store = nearest_store(ask, facts)
    if pid is None or store is None:
        return "no_product" if pid is None else "no_store"
    here = [a for a in facts.associates if a.store_code == store]
    day = retail.WEEKDAYS[retail.local_time(facts.locations.get(store), now).weekday()]
    found = comparisons.experts(here, facts.products[pid], day)
    if not found:
        return "no_expert"
    shown = [{"id": a.associate_id, "name": a.name, "skills": list(a.skills),
              "today": "-".join(a.schedule[day]) if day in a.schedule else None}
             for a in found[:3]]  # fmt: skip
    data = {
        "product": product_view(facts, pid, now),
        "store": store_view(facts, store),
        "associates": shown,
    }
    return Shown("expert", data, "experts_available")
