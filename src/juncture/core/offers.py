"""The retailer's programmes as plain data: loyalty tiers and accounts, promotions (the
Merchant Center promotions feed's fields), coupons (the retailer's own and third-party ones
from suppliers or the mall), associates, and reviews; with the pure answers read from them:
where a member stands against the tiers, whether an offer applies to a cart, the best
coupon, the summary of a product's reviews.

>>> tiers = (Tier("silver", "Silver", 0), Tier("gold", "Gold", 1000))
>>> progress(Account("c1", points=400, tier="silver"), tiers).to_next
600
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

ISSUERS: Final = ("retailer", "supplier", "mall")
AUTHOR_KINDS: Final = ("customer", "influencer", "media")
CHANNELS: Final = ("online", "in_store")


@dataclass(frozen=True, slots=True)
class Tier:
    """A loyalty tier: reached at ``threshold`` points (lifetime), with its benefits."""

    tier: str
    name: str
    threshold: int
    benefits: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Account:
    """A member's loyalty account (``customer_id`` is the tracking ``userId``): spendable
    ``points``, ``lifetime`` points (what tiers count), and points that expire when."""

    customer_id: str
    points: int = 0
    tier: str | None = None
    lifetime: int | None = None
    expiring: int = 0
    expires_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Targeting:
    """Who and what an offer is for: products by id, brand or category path prefix (none:
    all products), locations by store code (none: everywhere), channels."""

    product_ids: tuple[str, ...] = ()
    brands: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    store_codes: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Discount:
    """``percent_off`` or ``money_off`` (in ``currency``), above ``minimum`` spend."""

    percent_off: float | None = None
    money_off: float | None = None
    currency: str | None = None
    minimum: float | None = None


@dataclass(frozen=True, slots=True)
class Promotion:
    promotion_id: str
    title: str
    discount: Discount
    targeting: Targeting = Targeting()
    starts: dt.datetime | None = None
    ends: dt.datetime | None = None
    code: str | None = None


@dataclass(frozen=True, slots=True)
class Coupon:
    """A coupon: issued by the retailer, a supplier or the mall (``issuer_kind``), at most
    ``limit`` redemptions in all (None: no limit)."""

    coupon_id: str
    title: str
    issuer: str
    issuer_kind: str
    discount: Discount
    targeting: Targeting = Targeting()
    starts: dt.datetime | None = None
    ends: dt.datetime | None = None
    code: str | None = None
    limit: int | None = None


@dataclass(frozen=True, slots=True)
class Associate:
    """A store associate: the product lines (category paths or brands) they know, and when
    they work (weekday to start and end, ``HH:MM``)."""

    associate_id: str
    name: str
    store_code: str
    skills: tuple[str, ...] = ()
    schedule: Mapping[str, tuple[str, str]] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Review:
    review_id: str
    product_id: str
    rating: float
    author_kind: str = "customer"
    author: str | None = None
    title: str | None = None
    text: str | None = None
    created_at: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Standing:
    """Where a member stands: the tier reached, the next one and the points to it."""

    tier: Tier | None
    next: Tier | None
    to_next: int | None
    points: int


@dataclass(frozen=True, slots=True)
class Line:
    """A cart line as the offers see it."""

    product_id: str
    price: float
    quantity: int = 1
    brand: str | None = None
    category: str | None = None


def progress(account: Account, tiers: Sequence[Tier]) -> Standing:
    """The tier ``account``'s lifetime points reach (or its stated tier), and the next."""
    counted = account.points if account.lifetime is None else account.lifetime
    ordered = sorted(tiers, key=lambda t: t.threshold)
    reached = [t for t in ordered if t.threshold <= counted]
    stated = next((t for t in ordered if t.tier == account.tier), None)
    current = max(
        (t for t in (*reached[-1:], stated) if t), key=lambda t: t.threshold, default=None
    )
    above = [t for t in ordered if current is None or t.threshold > current.threshold]
    upcoming = above[0] if above else None
    to_next = None if upcoming is None else max(0, upcoming.threshold - counted)
    return Standing(current, upcoming, to_next, account.points)


def active(starts: dt.datetime | None, ends: dt.datetime | None, now: dt.datetime) -> bool:
    return (starts is None or starts <= now) and (ends is None or now < ends)


def targets(targeting: Targeting, line: Line) -> bool:
    """Whether ``line``'s product is among those the targeting names (none named: all)."""
    if not (targeting.product_ids or targeting.brands or targeting.categories):
        return True
    brand = (line.brand or "").lower()
    category = (line.category or "").lower()
    return (
        line.product_id in targeting.product_ids
        or any(b.lower() == brand for b in targeting.brands)
        or any(category.startswith(c.lower()) for c in targeting.categories if category)
    )


def saving(
    discount: Discount,
    targeting: Targeting,
    lines: Sequence[Line],
    store_code: str | None = None,
) -> float:
    """What the offer takes off ``lines`` (0 when it does not apply): the lines it targets
    must reach the minimum, in a location it allows."""
    if targeting.store_codes and store_code not in targeting.store_codes:
        return 0.0
    spend = sum(x.price * x.quantity for x in lines if targets(targeting, x))
    if spend <= 0 or (discount.minimum is not None and spend < discount.minimum):
        return 0.0
    off = spend * (discount.percent_off or 0) / 100 + (discount.money_off or 0)
    return round(min(off, spend), 2)


def best_coupon(
    coupons: Sequence[Coupon],
    redeemed: Mapping[str, int],
    lines: Sequence[Line],
    now: dt.datetime,
    store_code: str | None = None,
) -> tuple[Coupon, float] | None:
    """The coupon that saves most on ``lines`` now (active, under its redemption limit);
    ties go to the first by id."""
    found = [
        (c, saving(c.discount, c.targeting, lines, store_code))
        for c in sorted(coupons, key=lambda c: c.coupon_id)
        if active(c.starts, c.ends, now)
        and (c.limit is None or redeemed.get(c.coupon_id, 0) < c.limit)
    ]
    found = [(c, s) for c, s in found if s > 0]
    return max(found, key=lambda x: x[1]) if found else None


def summary(reviews: Sequence[Review]) -> dict[str, object]:
    """Count and mean rating, overall and by author kind, and the rating histogram."""
    by_kind: dict[str, list[float]] = {}
    for r in reviews:
        by_kind.setdefault(r.author_kind, []).append(r.rating)
    every = [r.rating for r in reviews]
    return {
        "count": len(every),
        "average": round(sum(every) / len(every), 2) if every else None,
        "byAuthorKind": {
            kind: {"count": len(v), "average": round(sum(v) / len(v), 2)}
            for kind, v in sorted(by_kind.items())
        },
        "histogram": {str(n): sum(1 for x in every if round(x) == n) for n in range(1, 6)},
    }
