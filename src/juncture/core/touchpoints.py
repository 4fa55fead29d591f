"""The shopper's questions answered from the retailer's tables: the pure decision behind the
touchpoint placements of ``POST /v1/decide``.

Given what was asked (:class:`Ask`: the touchpoint, and the product, store and position the
page knows), what the shopper cares about (:class:`Interest`: the cart, then products viewed,
most recent first) and the facts read from the tables (:class:`Facts`), :func:`answer` says
what to show (:class:`Shown`: the popover kind, its data, the reason, and what makes it
shown once) or why nothing (a reason string).

Touchpoints: ``back_in_stock`` (a product of interest can be had again since the shopper
last saw it), ``price_drop`` (it costs less than when they saw it), ``low_stock`` (few left
in their store), ``pickup`` (where it can be picked up, nearest first, and when),
``endless_aisle`` (out of stock here: where it is in stock), ``product_location`` (aisle and
bay in this store, or the category path online), ``specs`` (the spec sheet, or the lines
that answer a question), ``reviews`` (the summary by author kind), ``loyalty`` (points, tier,
the next tier and what it brings), ``coupon`` (the best coupon for the cart), ``promo`` (a
running promotion the cart or product qualifies for), and ``app`` (the first of back in
stock, price drop, low stock, coupon, promo and loyalty that answers).

>>> answer(Ask("loyalty"), (), Facts(), NOW)
'no_loyalty_account'
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from juncture.core import offers, retail
from juncture.core import retail_views as views

NOW: Final = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
LOW_STOCK: Final = 3  # at most this many left is low
APP_ORDER: Final = ("back_in_stock", "price_drop", "low_stock", "coupon", "promo", "loyalty")
MARKETING: Final = frozenset({"back_in_stock", "price_drop", "low_stock", "coupon", "promo"})
TOUCHPOINTS: Final = (
    "back_in_stock", "price_drop", "low_stock", "pickup", "endless_aisle", "product_location",
    "specs", "reviews", "loyalty", "coupon", "promo", "app",
)  # fmt: skip
_WORD: Final = re.compile(r"[a-z0-9]+")


@dataclass(frozen=True, slots=True)
class Ask:
    """What the page asks: the touchpoint, and what it knows (the product shown, the store
    the shopper is in or chose, their position, a question typed)."""

    touchpoint: str
    product_id: str | None = None
    store_code: str | None = None
    point: tuple[float, float] | None = None
    question: str | None = None
    user_id: str | None = None


@dataclass(frozen=True, slots=True)
class Interest:
    """A product the shopper cares about: in the cart (with its price there) or viewed
    (the price then, when last)."""

    product_id: str
    price_seen: float | None = None
    last_at: dt.datetime | None = None
    in_cart: bool = False
    quantity: int = 1


@dataclass(frozen=True, slots=True)
class Facts:
    """What the tables say about the products of interest and the shopper."""

    products: Mapping[str, retail.Product] = field(default_factory=dict)
    stock: Mapping[str, Sequence[retail.Stock]] = field(default_factory=dict)
    locations: Mapping[str, retail.Location] = field(default_factory=dict)
    changes: Sequence[retail.Change] = ()
    account: offers.Account | None = None
    tiers: Sequence[offers.Tier] = ()
    coupons: Sequence[offers.Coupon] = ()
    redeemed: Mapping[str, int] = field(default_factory=dict)
    promotions: Sequence[offers.Promotion] = ()
    reviews: Sequence[offers.Review] = ()


@dataclass(frozen=True, slots=True)
class Shown:
    """What to show: ``kind`` (the touchpoint), ``data`` for the template, ``reason``, and
    ``once`` (what makes it shown once per shopper; None: shown each time asked)."""

    kind: str
    data: dict[str, Any]
    reason: str
    once: str | None = None

    @property
    def marketing(self) -> bool:
        return self.kind in MARKETING


def products_of(ask: Ask, interest: Sequence[Interest]) -> list[str]:
    """The products a touchpoint looks at: the one asked about, then the interest."""
    ids = [ask.product_id] if ask.product_id else []
    return ids + [i.product_id for i in interest if i.product_id not in ids]


def answer(ask: Ask, interest: Sequence[Interest], facts: Facts, now: dt.datetime) -> Shown | str:
    """What to show for ``ask``, or why nothing."""
    if ask.touchpoint == "app":
        for touchpoint in APP_ORDER:
            found = _ANSWERS[touchpoint](_with(ask, touchpoint), interest, facts, now)
            if isinstance(found, Shown):
                return found
        return "nothing_to_show"
    if ask.touchpoint not in _ANSWERS:
        return "unknown_touchpoint"
    return _ANSWERS[ask.touchpoint](ask, interest, facts, now)


def _with(ask: Ask, touchpoint: str) -> Ask:
    return Ask(touchpoint, ask.product_id, ask.store_code, ask.point, ask.question, ask.user_id)


def _product(facts: Facts, pid: str, now: dt.datetime) -> dict[str, Any]:
    return views.product_json(facts.products[pid], now)


def back_in_stock(
    ask: Ask, interest: Sequence[Interest], facts: Facts, now: dt.datetime
) -> Shown | str:
    last = {i.product_id: i.last_at for i in interest}
    for change in reversed(facts.changes):
        seen = last.get(change.product_id)
        mine = change.store_code in (None, ask.store_code) or ask.store_code is None
        if (
            change.kind != retail.BACK_IN_STOCK
            or change.product_id not in facts.products
            or not mine
        ):
            continue
        if change.product_id in last and (seen is None or seen < change.at):
            data = {
                "product": _product(facts, change.product_id, now),
                "since": change.at.isoformat(),
            }
            if change.store_code is not None:
                data["store"] = _store(facts, change.store_code)
            return Shown(
                "back_in_stock",
                data,
                "back_in_stock",
                f"{change.product_id}:{change.at.isoformat()}",
            )
    return "nothing_back_in_stock"


def price_drop(
    _ask: Ask, interest: Sequence[Interest], facts: Facts, now: dt.datetime
) -> Shown | str:
    best: tuple[float, Interest, float] | None = None
    for item in interest:
        product = facts.products.get(item.product_id)
        if product is None or item.price_seen is None or item.price_seen <= 0:
            continue
        price = retail.price_at(product, now)[0]
        if price is not None and price < item.price_seen:
            drop = (item.price_seen - price) / item.price_seen
            if best is None or drop > best[0]:
                best = (drop, item, price)
    if best is None:
        return "no_price_drop"
    drop, item, price = best
    data = {
        "product": _product(facts, item.product_id, now),
        "was": item.price_seen,
        "now": price,
        "saving": round((item.price_seen or 0) - price, 2),
        "percentOff": round(drop * 100),
    }
    return Shown("price_drop", data, "price_drop", f"{item.product_id}:{price}")


def _store(facts: Facts, code: str) -> dict[str, Any]:
    place = facts.locations.get(code)
    return views.location_json(place) if place else {"storeCode": code}


def _distance(facts: Facts, code: str, point: tuple[float, float] | None) -> float | None:
    place = facts.locations.get(code)
    if point is None or place is None or place.latitude is None or place.longitude is None:
        return None
    return round(retail.distance_km(*point, place.latitude, place.longitude), 2)


def _origin(ask: Ask, facts: Facts) -> tuple[float, float] | None:
    """Where distances are measured from: the shopper's position, else their store's."""
    if ask.point is not None:
        return ask.point
    place = facts.locations.get(ask.store_code or "")
    if place is not None and place.latitude is not None and place.longitude is not None:
        return place.latitude, place.longitude
    return None


def _nearest_store(ask: Ask, facts: Facts) -> str | None:
    if ask.store_code:
        return ask.store_code
    origin = _origin(ask, facts)
    stores = [c for c, x in facts.locations.items() if x.kind == "store"]
    ranked = sorted((d, c) for c in stores if (d := _distance(facts, c, origin)) is not None)
    return ranked[0][1] if ranked else None


def low_stock(
    ask: Ask, interest: Sequence[Interest], facts: Facts, now: dt.datetime
) -> Shown | str:
    store = _nearest_store(ask, facts)
    if store is None:
        return "no_store"
    for pid in products_of(ask, interest):
        line = next((s for s in facts.stock.get(pid, ()) if s.store_code == store), None)
        if pid in facts.products and line and line.quantity and 0 < line.quantity <= LOW_STOCK:
            data = {
                "product": _product(facts, pid, now),
                "store": _store(facts, store),
                "quantity": line.quantity,
            }
            return Shown("low_stock", data, "low_stock", f"{pid}:{store}:{line.quantity}")
    return "no_low_stock"


def _places(
    ask: Ask, facts: Facts, pid: str, now: dt.datetime, *, pickup: bool
) -> list[dict[str, Any]]:
    origin = _origin(ask, facts)
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
                "store": _store(facts, line.store_code),
                "kind": place.kind if place else "store",
                "quantity": line.quantity,
                "price": retail.stock_price_at(line, facts.products.get(pid), now),
                "pickupMethod": line.pickup_method,
                "pickupSla": line.pickup_sla,
                "readyInDays": retail.PICKUP_DAYS.get(line.pickup_sla or ""),
                "distanceKm": _distance(facts, line.store_code, origin),
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
    data = {"product": _product(facts, pid, now), "stores": places}
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
    data = {"product": _product(facts, pid, now), "elsewhere": places}
    if ask.store_code:
        data["store"] = _store(facts, ask.store_code)
    return Shown("endless_aisle", data, "out_of_stock_here")


def product_location(
    ask: Ask, _interest: Sequence[Interest], facts: Facts, now: dt.datetime
) -> Shown | str:
    pid = ask.product_id
    if pid is None or pid not in facts.products:
        return "no_product"
    line = next((s for s in facts.stock.get(pid, ()) if s.store_code == ask.store_code), None)
    data: dict[str, Any] = {"product": _product(facts, pid, now)}
    if line is not None and (line.aisle or line.department or line.bay):
        data |= {"store": _store(facts, line.store_code), "department": line.department,
                 "aisle": line.aisle, "bay": line.bay}  # fmt: skip
        return Shown("product_location", data, "in_store")
    data["categoryPath"] = facts.products[pid].category
    return Shown("product_location", data, "online")


def specs(ask: Ask, _interest: Sequence[Interest], facts: Facts, now: dt.datetime) -> Shown | str:
    pid = ask.product_id
    product = facts.products.get(pid or "")
    if pid is None or product is None:
        return "no_product"
    if not product.details:
        return "no_specs"
    sections: dict[str, list[dict[str, str]]] = {}
    for d in product.details:
        sections.setdefault(d.section or "General", []).append({"name": d.name, "value": d.value})
    data: dict[str, Any] = {"product": _product(facts, pid, now), "sections": sections}
    if ask.question:
        words = set(_WORD.findall(ask.question.lower()))
        data["answers"] = [
            {"section": d.section, "name": d.name, "value": d.value}
            for d in product.details
            if words & set(_WORD.findall(f"{d.section} {d.name}".lower()))
        ]
        return Shown("specs", data, "answered" if data["answers"] else "spec_sheet")
    return Shown("specs", data, "spec_sheet")


def reviews(ask: Ask, _interest: Sequence[Interest], facts: Facts, now: dt.datetime) -> Shown | str:
    pid = ask.product_id
    if pid is None or pid not in facts.products:
        return "no_product"
    found = [r for r in facts.reviews if r.product_id == pid]
    if not found:
        return "no_reviews"
    top = sorted(found, key=lambda r: (-r.rating, r.review_id))[:3]
    data = {
        "product": _product(facts, pid, now),
        "summary": offers.summary(found),
        "top": [{"rating": r.rating, "authorKind": r.author_kind, "author": r.author,
                 "title": r.title, "text": r.text} for r in top],
    }  # fmt: skip
    return Shown("reviews", data, "reviews")


def loyalty(
    _ask: Ask, _interest: Sequence[Interest], facts: Facts, _now: dt.datetime
) -> Shown | str:
    if facts.account is None:
        return "no_loyalty_account"
    standing = offers.progress(facts.account, facts.tiers)
    data: dict[str, Any] = {
        "points": facts.account.points,
        "tier": standing.tier.name if standing.tier else None,
        "nextTier": standing.next.name if standing.next else None,
        "pointsToNextTier": standing.to_next,
        "nextBenefits": list(standing.next.benefits) if standing.next else [],
        "expiringPoints": facts.account.expiring,
        "pointsExpireAt": facts.account.expires_at.isoformat()
        if facts.account.expires_at
        else None,
    }
    return Shown("loyalty", data, "loyalty_status")


def _lines(interest: Sequence[Interest], facts: Facts, now: dt.datetime) -> list[offers.Line]:
    found = []
    for item in interest:
        product = facts.products.get(item.product_id)
        if item.in_cart and product is not None:
            price = retail.price_at(product, now)[0] or item.price_seen or 0.0
            found.append(
                offers.Line(item.product_id, price, item.quantity, product.brand, product.category)
            )
    return found


def coupon(ask: Ask, interest: Sequence[Interest], facts: Facts, now: dt.datetime) -> Shown | str:
    lines = _lines(interest, facts, now)
    if not lines:
        return "empty_cart"
    best = offers.best_coupon(facts.coupons, facts.redeemed, lines, now, ask.store_code)
    if best is None:
        return "no_coupon_applies"
    found, saving = best
    data = {
        "coupon": {"id": found.coupon_id, "title": found.title, "issuer": found.issuer,
                   "issuerKind": found.issuer_kind, "code": found.code},
        "saving": saving,
        "cartValue": round(sum(x.price * x.quantity for x in lines), 2),
    }  # fmt: skip
    return Shown("coupon", data, "coupon_applies", f"{found.coupon_id}")


def promo(ask: Ask, interest: Sequence[Interest], facts: Facts, now: dt.datetime) -> Shown | str:
    lines = _lines(interest, facts, now)
    if ask.product_id and ask.product_id in facts.products:
        product = facts.products[ask.product_id]
        price = retail.price_at(product, now)[0] or 0.0
        if product.id not in {x.product_id for x in lines}:  # the product shown, as if added
            lines = [*lines, offers.Line(product.id, price, 1, product.brand, product.category)]
    running = [p for p in facts.promotions if offers.active(p.starts, p.ends, now)]
    scored = [(offers.saving(p.discount, p.targeting, lines, ask.store_code), p) for p in running]
    scored = [(s, p) for s, p in scored if s > 0]
    if not scored:
        return "no_promotion_applies"
    saving, found = max(scored, key=lambda x: (x[0], x[1].promotion_id))
    data = {"promotion": {"id": found.promotion_id, "title": found.title, "code": found.code},
            "saving": saving}  # fmt: skip
    return Shown("promo", data, "promotion_applies", found.promotion_id)


_ANSWERS: Final = {
    "back_in_stock": back_in_stock,
    "price_drop": price_drop,
    "low_stock": low_stock,
    "pickup": pickup,
    "endless_aisle": endless_aisle,
    "product_location": product_location,
    "specs": specs,
    "reviews": reviews,
    "loyalty": loyalty,
    "coupon": coupon,
    "promo": promo,
}
