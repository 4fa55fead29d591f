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
running promotion the cart or product qualifies for), ``compare`` (a feature-by-feature table
of products of one category viewed close together), ``expert`` (associates at the store who
know the product's line, those working today first), ``wishlist`` (the wish list with the
price now, stock nearby and what completes it), ``gift`` (in-stock products for a budget,
category and recipient, their shared wish list first), ``cart_reminder`` (the cart priced
now, with a link that rebuilds it), ``clickstream`` (strong interest met with an offer or a
product), ``presence`` (in a store, with location use allowed: an invitation), ``event``
(store events: invitation, reminder, follow-up), and ``app`` (the first of back in stock,
price drop, low stock, coupon, promo and loyalty that answers).

>>> answer(Ask("loyalty"), (), Facts(), NOW)
'no_loyalty_account'
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from typing import Final

from juncture.core.touchpoints import shopper, stores, visits, wishes
from juncture.core.touchpoints.base import (
    APP_ORDER,
    COMPARE_WITHIN,
    LOW_STOCK,
    MARKETING,
    NOW,
    TOUCHPOINTS,
    Ask,
    Facts,
    Interest,
    Shown,
    products_of,
)

__all__ = [
    "APP_ORDER", "COMPARE_WITHIN", "LOW_STOCK", "MARKETING", "NOW", "TOUCHPOINTS", "Ask",
    "Facts", "Interest", "Shown", "answer", "products_of",
]  # fmt: skip

Answerer = Callable[[Ask, Sequence[Interest], Facts, dt.datetime], Shown | str]
_ANSWERS: Final[dict[str, Answerer]] = {
    "back_in_stock": shopper.back_in_stock,
    "price_drop": shopper.price_drop,
    "low_stock": stores.low_stock,
    "pickup": stores.pickup,
    "endless_aisle": stores.endless_aisle,
    "product_location": stores.product_location,
    "specs": shopper.specs,
    "reviews": shopper.reviews,
    "loyalty": shopper.loyalty,
    "coupon": shopper.coupon,
    "promo": shopper.promo,
    "compare": shopper.compare,
    "expert": stores.expert,
    "wishlist": wishes.wishlist,
    "gift": wishes.gift,
    "cart_reminder": wishes.cart_reminder,
    "clickstream": visits.clickstream,
    "presence": visits.presence,
    "event": visits.store_event,
}


def answer(ask: Ask, interest: Sequence[Interest], facts: Facts, now: dt.datetime) -> Shown | str:
    """What to show for ``ask``, or why nothing."""
    if ask.touchpoint == "app":
        for touchpoint in APP_ORDER:
            found = _ANSWERS[touchpoint](
                dataclasses.replace(ask, touchpoint=touchpoint), interest, facts, now
            )
            if isinstance(found, Shown):
                return found
        return "nothing_to_show"
    if ask.touchpoint not in _ANSWERS:
        return "unknown_touchpoint"
    return _ANSWERS[ask.touchpoint](ask, interest, facts, now)
