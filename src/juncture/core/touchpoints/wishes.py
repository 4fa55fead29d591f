"""Touchpoints answered from what the shopper keeps: their wish list with today's prices,
stock near them and what completes it; gift suggestions for someone else (their shared wish
list first); the cart they left, priced now, with a link that rebuilds it."""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Sequence
from typing import Any, Final

from juncture.core import retail
from juncture.core import retail_views as views
from juncture.core.touchpoints.base import (
    Ask,
    Facts,
    Interest,
    Shown,
    nearby,
    online,
    product_view,
)

SUGGEST: Final = 4  # products that complete a wish list
GIFTS: Final = 6


def _item(ask: Ask, facts: Facts, pid: str, was: float | None, now: dt.datetime) -> dict[str, Any]:
    product = facts.products[pid]
    price = retail.price_at(product, now)[0]
    return {
        "product": product_view(facts, pid, now),
        "priceThen": was,
        "priceNow": price,
        "cheaper": was is not None and price is not None and price < was,
        "online": online(product),
        "nearby": nearby(ask, facts, pid),
    }


def wishlist(ask: Ask, interest: Sequence[Interest], facts: Facts, now: dt.datetime) -> Shown | str:
    """The wish list blended with the price now, stock near the shopper, and the merchant's
    related products and accessories of the listed ones that are in stock (suggestions)."""
    wishes = [w for w in facts.wishes if w.product_id in facts.products]
    if not wishes:
        return "empty_wish_list"
    listed = {w.product_id for w in wishes} | {i.product_id for i in interest if i.in_cart}
    suggestions: list[dict[str, Any]] = []
    for w in wishes:
        for rel in facts.products[w.product_id].related:
            other = facts.products.get(rel.product_id)
            if other is None or other.id in listed or not online(other):
                continue
            listed.add(other.id)
            suggestions.append({**product_view(facts, other.id, now), "kind": rel.kind,
                                "for": w.product_id})  # fmt: skip
    data = {
        "items": [_item(ask, facts, w.product_id, w.price, now) for w in wishes],
        "suggestions": suggestions[:SUGGEST],
    }
    return Shown("wishlist", data, "wish_list")


def _affordable(product: retail.Product, budget: float | None, now: dt.datetime) -> bool:
    price = retail.price_at(product, now)[0]
    return price is not None and (budget is None or price <= budget)


def _in_stock(ask: Ask, facts: Facts, product: retail.Product) -> bool:
    return online(product) or nearby(ask, facts, product.id) is not None


def gift(ask: Ask, _interest: Sequence[Interest], facts: Facts, now: dt.datetime) -> Shown | str:
    """In-stock products within the budget and category: the recipient's shared wish list
    first, then the category's products, the dearest that fit first."""
    if ask.budget is None and ask.category is None and ask.recipient is None:
        return "no_gift_criteria"
    category = (ask.category or "").lower()

    def fits(p: retail.Product) -> bool:
        in_line = (p.category or "").lower().startswith(category)
        return in_line and _affordable(p, ask.budget, now) and _in_stock(ask, facts, p)

    wished = [
        facts.products[w.product_id]
        for w in facts.shared_wishes or ()
        if w.product_id in facts.products and fits(facts.products[w.product_id])
    ]
    seen = {p.id for p in wished}
    others = sorted(
        (p for p in facts.candidates if p.id not in seen and fits(p)),
        key=lambda p: (-(retail.price_at(p, now)[0] or 0.0), p.id),
    )
    picks = [(p, True) for p in wished] + [(p, False) for p in others]
    if not picks:
        return "no_gift_found"
    data = {
        "budget": ask.budget,
        "category": ask.category,
        "recipientWishList": _shared(ask, facts),
        "gifts": [{**views.product_json(p, now), "fromWishList": mine}
                  for p, mine in picks[:GIFTS]],
    }  # fmt: skip
    return Shown("gift", data, "from_wish_list" if wished else "gift_ideas")


def _shared(ask: Ask, facts: Facts) -> str | None:
    if ask.recipient is None:
        return None
    return "not_shared" if facts.shared_wishes is None else "shared"


def cart_reminder(
    ask: Ask, interest: Sequence[Interest], facts: Facts, now: dt.datetime
) -> Shown | str:
    """The cart as it is now: each line's price then and now, whether it can be had, and a
    link that rebuilds the cart; shown again when a price or the cart changes."""
    lines = [i for i in interest if i.in_cart]
    if not lines:
        return "empty_cart"
    known = [i for i in lines if i.product_id in facts.products]
    if not known:
        return "no_product"
    items = [
        {**_item(ask, facts, i.product_id, i.price_seen, now), "quantity": i.quantity}
        for i in known
    ]
    total = sum((x["priceNow"] or 0.0) * x["quantity"] for x in items)
    data = {"items": items, "total": round(total, 2), "restoreUrl": facts.cart_link}
    once = "|".join(f"{x['product']['id']}:{x['quantity']}:{x['priceNow']}" for x in items)
    return Shown("cart_reminder", data, "cart_reminder", _digest(once))


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:24]
