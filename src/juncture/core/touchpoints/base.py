"""The touchpoints' vocabulary: what is asked, what the shopper cares about, the facts read
from the tables, what is shown, and the helpers every answer shares."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from juncture.core import engagement, offers, retail
from juncture.core import retail_views as views

NOW: Final = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
LOW_STOCK: Final = 3  # at most this many left is low
APP_ORDER: Final = ("back_in_stock", "price_drop", "low_stock", "coupon", "promo", "loyalty")
MARKETING: Final = frozenset(
    {"back_in_stock", "price_drop", "low_stock", "coupon", "promo", "clickstream", "presence",
     "cart_reminder", "event"}
)  # fmt: skip
TOUCHPOINTS: Final = (
    "back_in_stock", "price_drop", "low_stock", "pickup", "endless_aisle", "product_location",
    "specs", "reviews", "loyalty", "coupon", "promo", "compare", "expert", "app",
    "wishlist", "gift", "cart_reminder", "clickstream", "presence", "event",
)  # fmt: skip
COMPARE_WITHIN: Final = dt.timedelta(hours=24)  # views of one category this close compare


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
    anonymous_id: str | None = None
    category: str | None = None  # gift: a category path prefix
    budget: float | None = None  # gift: the most to spend
    recipient: str | None = None  # gift: the recipient's userId

    def owners(self) -> list[str]:
        """The identifiers the shopper's own records (a wish list) are kept under."""
        found = [f"user_id:{self.user_id}"] if self.user_id else []
        return found + ([f"anonymous_id:{self.anonymous_id}"] if self.anonymous_id else [])


@dataclass(frozen=True, slots=True)
class Interest:
    """A product the shopper cares about: in the cart (with its price there) or viewed
    (the price then, when last)."""

    product_id: str
    price_seen: float | None = None
    last_at: dt.datetime | None = None
    in_cart: bool = False
    quantity: int = 1
    views: int = 0


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
    associates: Sequence[offers.Associate] = ()
    wishes: Sequence[engagement.Wish] = ()  # the shopper's wish list
    shared_wishes: Sequence[engagement.Wish] | None = None  # the recipient's, when shared
    candidates: Sequence[retail.Product] = ()  # products a search found (gift, click stream)
    affinity: Mapping[str, float] = field(default_factory=dict)  # category:/brand: scores now
    location_opt_in: bool = False  # the shopper allowed location use
    events: Sequence[engagement.StoreEvent] = ()  # upcoming and the shopper's recent ones
    registrations: Sequence[engagement.Registration] = ()  # the shopper's
    cart_link: str | None = None  # where a link rebuilds the shopper's cart


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


def product_view(facts: Facts, pid: str, now: dt.datetime) -> dict[str, Any]:
    return views.product_json(facts.products[pid], now)


def store_view(facts: Facts, code: str) -> dict[str, Any]:
    place = facts.locations.get(code)
    return views.location_json(place) if place else {"storeCode": code}


def distance(facts: Facts, code: str, point: tuple[float, float] | None) -> float | None:
    place = facts.locations.get(code)
    if point is None or place is None or place.latitude is None or place.longitude is None:
        return None
    return round(retail.distance_km(*point, place.latitude, place.longitude), 2)


def origin(ask: Ask, facts: Facts) -> tuple[float, float] | None:
    """Where distances are measured from: the shopper's position, else their store's."""
    if ask.point is not None:
        return ask.point
    place = facts.locations.get(ask.store_code or "")
    if place is not None and place.latitude is not None and place.longitude is not None:
        return place.latitude, place.longitude
    return None


def nearest_store(ask: Ask, facts: Facts) -> str | None:
    if ask.store_code:
        return ask.store_code
    start = origin(ask, facts)
    stores = [c for c, x in facts.locations.items() if x.kind == "store"]
    ranked = sorted((d, c) for c in stores if (d := distance(facts, c, start)) is not None)
    return ranked[0][1] if ranked else None


def nearby(ask: Ask, facts: Facts, pid: str) -> dict[str, Any] | None:
    """The nearest store that has ``pid`` (the shopper's store when it has it): its
    quantity and distance."""
    start = origin(ask, facts)
    found = []
    for line in facts.stock.get(pid, ()):
        place = facts.locations.get(line.store_code)
        if retail.available(line) and (place is None or place.kind == "store"):
            far = distance(facts, line.store_code, start)
            mine = line.store_code != ask.store_code
            found.append((mine, far is None, far or 0.0, line.store_code, line.quantity))
    if not found:
        return None
    _, _, far, code, quantity = min(found)
    known = distance(facts, code, start)
    return {"store": store_view(facts, code), "quantity": quantity, "distanceKm": known}


def online(product: retail.Product) -> bool:
    """Whether the product can be ordered online now."""
    return product.availability in retail.SELLABLE
