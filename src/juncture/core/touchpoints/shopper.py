"""Touchpoints answered from products, prices and the programmes: back in stock, a price
drop, the spec sheet, reviews, loyalty standing, the best coupon or promotion, a comparison."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from typing import Any, Final

from juncture.core import comparisons, offers, retail
from juncture.core.touchpoints.base import (
    COMPARE_WITHIN,
    Ask,
    Facts,
    Interest,
    Shown,
    product_view,
    store_view,
)

_WORD: Final = re.compile(r"[a-z0-9]+")


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
                "product": product_view(facts, change.product_id, now),
                "since": change.at.isoformat(),
            }
            if change.store_code is not None:
                data["store"] = store_view(facts, change.store_code)
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
        "product": product_view(facts, item.product_id, now),
        "was": item.price_seen,
        "now": price,
        "saving": round((item.price_seen or 0) - price, 2),
        "percentOff": round(drop * 100),
    }
    return Shown("price_drop", data, "price_drop", f"{item.product_id}:{price}")


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
    data: dict[str, Any] = {"product": product_view(facts, pid, now), "sections": sections}
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
        "product": product_view(facts, pid, now),
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


def compare(_ask: Ask, interest: Sequence[Interest], facts: Facts, now: dt.datetime) -> Shown | str:
    """Products of one category viewed within :data:`COMPARE_WITHIN` of the latest view."""
    viewed = [i for i in interest if not i.in_cart and i.last_at and i.product_id in facts.products]
    if not viewed:
        return "nothing_to_compare"
    latest = viewed[0]
    assert latest.last_at is not None
    category = facts.products[latest.product_id].category
    close = [
        facts.products[i.product_id]
        for i in viewed
        if i.last_at
        and latest.last_at - i.last_at <= COMPARE_WITHIN
        and facts.products[i.product_id].category == category
    ]
    if len(close) < 2:
        return "nothing_to_compare"
    data = {"category": category, **comparisons.table(close[:4], now)}
    return Shown("compare", data, "comparing", ",".join(sorted(p.id for p in close[:4])))
