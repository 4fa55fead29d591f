"""Rows of the retailer's programme feeds to :mod:`juncture.core.offers` records, in any
format of :mod:`juncture.definitions.feeds`:

* ``loyalty_tiers``: ``tier``, ``name``, ``threshold`` (lifetime points), ``benefits``;
* ``loyalty``: ``customer_id`` (the tracking ``userId``), ``points``, ``tier``,
  ``lifetime_points``, ``expiring_points``, ``points_expire_at``;
* ``promotions``: the Merchant Center promotions feed's ``promotion_id``, ``long_title``,
  ``promotion_effective_dates``, ``percent_off`` or ``money_off_amount``,
  ``minimum_purchase_amount``, ``generic_redemption_code``, ``redemption_channel``, and
  its targeting ``item_id``, ``brand``, ``product_type`` (repeated), plus ``store_code``;
* ``coupons``: ``coupon_id``, ``title``, ``issuer``, ``issuer_kind`` (retailer, supplier,
  mall), ``effective_dates``, the same discount and targeting, ``code``,
  ``redemption_limit``;
* ``associates``: ``associate_id``, ``name``, ``store_code``, ``skills`` (product lines:
  category paths or brands), ``monday_hours`` ... ``sunday_hours``;
* ``reviews``: ``review_id``, ``product_id``, ``rating`` (1 to 5), ``author``,
  ``author_kind`` (customer, influencer, media), ``title``, ``content``,
  ``review_timestamp``;
* ``store_events``: ``event_id``, ``title``, ``starts_at`` (required), ``ends_at``,
  ``store_code`` (none: online), ``description``, ``product_ids``, ``associate_ids``,
  ``product_lines`` (repeated), ``capacity``, ``link``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

from juncture.core import engagement, offers, retail
from juncture.definitions.fields import Fields

Record = (
    offers.Tier
    | offers.Account
    | offers.Promotion
    | offers.Coupon
    | offers.Associate
    | offers.Review
    | engagement.StoreEvent
)


def tier(f: Fields) -> offers.Tier:
    name = f.ident("tier") or ""
    threshold = f.integer("threshold")
    if threshold is None and "threshold" not in f.row:
        f.problem("threshold", "is required")
    return offers.Tier(name, f.text("name") or name, threshold or 0, tuple(f.texts("benefits")))


def account(f: Fields) -> offers.Account:
    points = f.integer("points")
    if points is None and "points" not in f.row:
        f.problem("points", "is required")
    return offers.Account(
        customer_id=f.ident("customer_id") or "",
        points=points or 0,
        tier=f.text("tier", limit=64),
        lifetime=f.integer("lifetime_points"),
        expiring=f.integer("expiring_points") or 0,
        expires_at=f.time("points_expire_at"),
    )


def _discount(f: Fields) -> offers.Discount:
    percent = f.number("percent_off", 0, 100)
    money = f.price("money_off_amount")
    minimum = f.price("minimum_purchase_amount")
    if percent is None and money is None and not f.problems:
        f.problem("percent_off", "give percent_off or money_off_amount")
    currency = money[1] if money else minimum[1] if minimum else None
    if money and minimum and money[1] != minimum[1]:
        f.problem("minimum_purchase_amount", f"is in {minimum[1]} but the discount in {money[1]}")
    return offers.Discount(
        percent_off=percent,
        money_off=money[0] if money else None,
        currency=currency,
        minimum=minimum[0] if minimum else None,
    )


def _targeting(f: Fields) -> offers.Targeting:
    channels = tuple(c.lower().replace(" ", "_") for c in f.texts("redemption_channel"))
    for c in channels:
        if c not in offers.CHANNELS:
            f.problem("redemption_channel", f"{c!r} is not one of {', '.join(offers.CHANNELS)}")
    return offers.Targeting(
        product_ids=tuple(f.texts("item_id")),
        brands=tuple(f.texts("brand")),
        categories=tuple(f.texts("product_type")),
        store_codes=tuple(f.texts("store_code")),
        channels=channels,
    )


def promotion(f: Fields) -> offers.Promotion:
    starts, ends = f.interval("promotion_effective_dates")
    title = f.text("long_title") if "long_title" in f.row else f.text("title", required=True)
    return offers.Promotion(
        promotion_id=f.ident("promotion_id") or "",
        title=title or "",
        discount=_discount(f),
        targeting=_targeting(f),
        starts=starts,
        ends=ends,
        code=f.text("generic_redemption_code", limit=100),
    )


def coupon(f: Fields) -> offers.Coupon:
    starts, ends = f.interval("effective_dates")
    return offers.Coupon(
        coupon_id=f.ident("coupon_id") or "",
        title=f.text("title", required=True) or "",
        issuer=f.text("issuer", required=True, limit=200) or "",
        issuer_kind=f.choice("issuer_kind", offers.ISSUERS, "retailer") or "retailer",
        discount=_discount(f),
        targeting=_targeting(f),
        starts=starts,
        ends=ends,
        code=f.text("code", limit=100),
        limit=f.integer("redemption_limit", minimum=1),
    )


def associate(f: Fields) -> offers.Associate:
    schedule = {}
    for day in retail.WEEKDAYS:
        text = f.text(f"{day}_hours", limit=20)
        if text and text.lower() != "closed":
            opens, _, closes = text.partition("-")
            if not (len(opens.strip()) == 5 == len(closes.strip()) and opens < closes):
                f.problem(f"{day}_hours", f"{text!r} is not working hours such as 09:00-17:00")
                continue
            schedule[day] = (opens.strip(), closes.strip())
    return offers.Associate(
        associate_id=f.ident("associate_id") or "",
        name=f.text("name", required=True) or "",
        store_code=f.ident("store_code") or "",
        skills=tuple(f.texts("skills")),
        schedule=schedule,
    )


def review(f: Fields) -> offers.Review:
    rating = f.number("rating", 1, 5)
    if rating is None and "rating" not in f.row:
        f.problem("rating", "is required")
    text = f.text("content") if "content" in f.row else f.text("text")
    when = f.time("review_timestamp") if "review_timestamp" in f.row else f.time("created_at")
    return offers.Review(
        review_id=f.ident("review_id") or "",
        product_id=f.ident("product_id") or "",
        rating=rating or 0.0,
        author_kind=f.choice("author_kind", offers.AUTHOR_KINDS, "customer") or "customer",
        author=f.text("author", limit=200),
        title=f.text("title", limit=1000),
        text=text,
        created_at=when,
    )


def store_event(f: Fields) -> engagement.StoreEvent:
    starts = f.time("starts_at")
    if starts is None and "starts_at" not in f.row:
        f.problem("starts_at", "is required")
    ends = f.time("ends_at")
    if starts is not None and ends is not None and ends <= starts:
        f.problem("ends_at", "is not after starts_at")
    return engagement.StoreEvent(
        event_id=f.ident("event_id") or "",
        title=f.text("title", required=True, limit=1000) or "",
        starts=starts or engagement.NOON,
        ends=ends,
        store_code=f.ident("store_code", required=False),
        description=f.text("description"),
        product_ids=tuple(f.texts("product_ids")),
        associate_ids=tuple(f.texts("associate_ids")),
        lines=tuple(f.texts("product_lines")),
        capacity=f.integer("capacity", minimum=1),
        link=f.text("link", limit=2000),
    )


BUILDERS: Final[dict[str, Callable[[Fields], Record]]] = {
    "loyalty_tiers": tier,
    "loyalty": account,
    "promotions": promotion,
    "coupons": coupon,
    "associates": associate,
    "reviews": review,
    "store_events": store_event,
}
