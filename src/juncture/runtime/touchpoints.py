"""The touchpoint placements of ``POST /v1/decide`` at run time: read what the shopper cares
about from their profile and the facts of the retailer's tables that the touchpoint needs,
then let :func:`juncture.core.touchpoints.answer` decide.

Only what a touchpoint reads is loaded: the products asked about and of interest (at most
:data:`MOST`), their stock lines and the locations for the store touchpoints, recent catalog
changes for back in stock, the member's account and the tiers for loyalty, the coupons or
promotions in force and the reviews of the product asked about.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from typing import Final

from juncture.core import touchpoints as tp
from juncture.core.profile.model import Profile
from juncture.store.catalog import Catalog
from juncture.store.programmes import Programmes

MOST: Final = 20  # products of interest looked at
CHANGES: Final = dt.timedelta(days=30)  # how far back a return to stock is news
_STORE: Final = frozenset(
    {"low_stock", "pickup", "endless_aisle", "product_location", "expert", "app"}
)


def interest(profile: Profile | None) -> list[tp.Interest]:
    """The cart's products (their price there), then products viewed, latest first."""
    if profile is None:
        return []
    found = [
        tp.Interest(
            i.product_id, i.price, profile.cart.updated_at, in_cart=True, quantity=i.quantity
        )
        for i in profile.cart.items.values()
    ]
    carted = {i.product_id for i in found}
    viewed = sorted(
        ((pid, v) for pid, v in profile.products.items() if pid not in carted),
        key=lambda x: x[1].last_at or dt.datetime.min.replace(tzinfo=dt.UTC),
        reverse=True,
    )
    found += [tp.Interest(pid, v.price, v.last_at) for pid, v in viewed]
    return found[:MOST]


class Touchpoints:
    """Reads the facts a touchpoint needs from the retailer's tables."""

    def __init__(self, catalog: Catalog, programmes: Programmes) -> None:
        self.catalog = catalog
        self.programmes = programmes

    def answers(
        self, ask: tp.Ask, profile: Profile | None, now: dt.datetime
    ) -> Iterator[tp.Shown | str]:
        """The touchpoint's answer; for ``app``, each of :data:`tp.APP_ORDER`'s in turn (the
        caller shows the first it has not shown before)."""
        cares = interest(profile)
        facts = self.facts(ask, cares, now)
        kinds = tp.APP_ORDER if ask.touchpoint == "app" else (ask.touchpoint,)
        for kind in kinds:
            yield tp.answer(dataclasses.replace(ask, touchpoint=kind), cares, facts, now)

    def facts(self, ask: tp.Ask, cares: list[tp.Interest], now: dt.datetime) -> tp.Facts:
        kind = ask.touchpoint
        every = kind == "app"
        ids = tp.products_of(ask, cares)[:MOST]
        catalog, programmes = self.catalog, self.programmes
        stores = kind in _STORE
        coupons = programmes.coupons(now) if every or kind == "coupon" else []
        account = (
            programmes.account(ask.user_id) if ask.user_id and kind in ("loyalty", "app") else None
        )
        return tp.Facts(
            products=catalog.products(ids),
            stock={pid: catalog.stock_of(pid) for pid in ids} if stores else {},
            locations={x.store_code: x for x in catalog.locations()} if stores else {},
            changes=catalog.changes(ids, now - CHANGES) if kind in ("back_in_stock", "app") else [],
            account=account,
            tiers=programmes.tiers() if account is not None else [],
            coupons=coupons,
            redeemed=programmes.redemptions([c.coupon_id for c in coupons]) if coupons else {},
            promotions=programmes.promotions(now) if every or kind == "promo" else [],
            reviews=programmes.reviews(ask.product_id)
            if kind == "reviews" and ask.product_id
            else [],
            associates=programmes.associates() if kind == "expert" else [],
        )
