"""The profile and its frozen parts: one customer (:class:`Profile`), the reducer's
thresholds (:class:`ProfileConfig`), consent statements, survey scores, product views, the
cart and orders; :func:`plain` shows any of them with every field."""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

import msgspec

Span = tuple[dt.datetime, dt.datetime]


class ProfileConfig(msgspec.Struct, frozen=True, kw_only=True):
    """Thresholds of the reducer and of :func:`rfm`. Dict fields are read-only."""

    session_gap: dt.timedelta = dt.timedelta(minutes=30)
    keep_sessions: int = 20
    revisit_gap: dt.timedelta = dt.timedelta(minutes=30)
    keep_visits: int = 8
    affinity_half_life: dt.timedelta = dt.timedelta(days=14)
    affinity_weights: dict[str, float] = msgspec.field(
        default_factory=lambda: {
            "Product Viewed": 1.0,
            "Product Clicked": 1.0,
            "Category Clicked": 1.0,
            "Product Added": 3.0,
            "Order Completed": 5.0,
        }
    )
    price_bands: tuple[float, ...] = (25.0, 100.0, 500.0)
    recency_days: tuple[int, int, int, int] = (7, 30, 90, 180)
    frequency_orders: tuple[int, int, int, int] = (2, 3, 5, 10)
    monetary_total: tuple[float, float, float, float] = (50.0, 150.0, 500.0, 1500.0)
    # Replenishment (the ``replenish_at`` trait): a product bought again after a declared
    # interval, by category path or its prefix (``"Beauty > Skincare": 30 days``); the
    # shopper's own repeat purchases, when there are some, say it better. Repeats closer
    # together than ``replenish_min`` (a second order the same day) are not a cycle.
    replenish_every: dict[str, dt.timedelta] = {}
    replenish_min: dt.timedelta = dt.timedelta(days=2)


DEFAULT_CONFIG: Final = ProfileConfig()


class Consent(msgspec.Struct, frozen=True, array_like=True):
    granted: bool
    at: dt.datetime


class Score(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A survey answer (NPS 0-10, CSAT as sent)."""

    score: float
    at: dt.datetime
    survey: str | None = None


class ProductView(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    views: int = 0
    visits: tuple[Span, ...] = ()
    visits_archived: int = 0
    last_at: dt.datetime | None = None
    seconds: float = 0.0
    spec_views: int = 0
    review_views: int = 0
    category: str | None = None
    brand: str | None = None
    price: float | None = None

    @property
    def visit_count(self) -> int:
        return len(self.visits) + self.visits_archived


NEVER_VIEWED: Final = ProductView()


class CartItem(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    product_id: str
    quantity: int = 1
    price: float = 0.0
    name: str | None = None
    category: str | None = None
    brand: str | None = None


class Cart(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """``updated_at``: last cart activity; ``cleared_at``: last completed order; ``ids``:
    the cart and checkout ids that its activity named since an order last emptied it (the
    most recent :data:`MAX_CART_IDS`), so that an order which names none of them still
    settles the carts it empties."""

    items: dict[str, CartItem] = {}
    ids: tuple[str, ...] = ()
    updated_at: dt.datetime | None = None
    cleared_at: dt.datetime | None = None
    checkout_at: dt.datetime | None = None
    currency: str | None = None

    @property
    def value(self) -> float:
        return sum(i.price * i.quantity for i in self.items.values())

    @property
    def quantity(self) -> int:
        return sum(i.quantity for i in self.items.values())

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = plain(self)
        return out


def plain(value: Any) -> Any:
    """``value`` as plain JSON types with every field, defaults too: the stored form leaves
    defaults out (a shopper's profile is rewritten on every commit that touches it, so its
    size is paid again and again), the API shows them."""
    if isinstance(value, msgspec.Struct) and not value.__struct_config__.array_like:
        return {name: plain(getattr(value, name)) for name in value.__struct_fields__}
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    return msgspec.to_builtins(value)


MAX_CART_IDS: Final = 8


class Order(msgspec.Struct, frozen=True, array_like=True):
    """A completed order: when, its revenue, the cart and checkout ids it settled (its own
    and those of the cart it emptied) and the products it bought (their ids)."""

    at: dt.datetime
    revenue: float
    carts: tuple[str, ...] = ()
    products: tuple[str, ...] = ()


class Profile(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One customer. Build an empty one with ``Profile(profile_id=...)``."""

    profile_id: str
    first_seen: dt.datetime | None = None
    last_seen: dt.datetime | None = None
    event_counts: dict[str, int] = {}
    traits: dict[str, Any] = {}
    trait_at: dict[str, dt.datetime] = {}
    consent: dict[str, Consent] = {}
    sessions: tuple[Span, ...] = ()
    sessions_archived: int = 0
    channels: dict[str, dt.datetime] = {}
    last_channel: str | None = None
    devices: dict[str, dt.datetime] = {}
    last_device: str | None = None
    products: dict[str, ProductView] = {}
    last_product: str | None = None
    affinity: dict[str, float] = {}
    affinity_ref: dt.datetime | None = None
    cart: Cart = Cart()
    orders: dict[str, Order] = {}
    revenue: float = 0.0
    last_order_id: str | None = None
    nps: Score | None = None
    csat: Score | None = None
    support_tickets: int = 0
    reviews: int = 0
    rating_sum: float = 0.0

    @property
    def session_count(self) -> int:
        return len(self.sessions) + self.sessions_archived

    @property
    def order_count(self) -> int:
        return len(self.orders)

    @property
    def last_order_at(self) -> dt.datetime | None:
        return self.orders[self.last_order_id].at if self.last_order_id else None

    @property
    def aov(self) -> float:
        """Average order value; 0 without orders."""
        return self.revenue / len(self.orders) if self.orders else 0.0

    @property
    def mean_rating(self) -> float | None:
        return self.rating_sum / self.reviews if self.reviews else None

    def to_json(self) -> dict[str, Any]:
        """Plain JSON types (times as ISO 8601 strings), every field present."""
        out: dict[str, Any] = plain(self)
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Profile:
        """The inverse of :meth:`to_json`."""
        return msgspec.convert(data, cls)
