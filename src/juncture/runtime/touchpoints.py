"""The touchpoint placements of ``POST /v1/decide`` at run time: read what the shopper cares
about from their profile and the facts of the retailer's tables that the touchpoint needs,
then let :func:`juncture.core.touchpoints.answer` decide.

Only what a touchpoint reads is loaded: the products asked about and of interest (at most
:data:`MOST`), their stock lines and the locations for the store touchpoints, recent catalog
changes for back in stock, the member's account and the tiers for loyalty, the coupons or
promotions in force and the reviews of the product asked about; the wish list (folded from
the log first) and the products that complete it; a category's products for gifts and for
strong interest; store events and the shopper's registrations; whether the shopper allowed
location use; a link that rebuilds the cart.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterator
from typing import Any, Final

from juncture.core import touchpoints as tp
from juncture.core.profile import affinity, consent
from juncture.core.profile.model import Profile
from juncture.core.touchpoints import visits
from juncture.runtime.cart_links import CartLinks
from juncture.store.catalog import Catalog
from juncture.store.programme_visits import Visits
from juncture.store.programme_wishes import Wishes
from juncture.store.programmes import Programmes

MOST: Final = 20  # products of interest looked at
CHANGES: Final = dt.timedelta(days=30)  # how far back a return to stock is news
CANDIDATES: Final = 50  # products a search reads for gifts and strong interest
_STORE: Final = frozenset(
    {"low_stock", "pickup", "endless_aisle", "product_location", "expert", "app", "wishlist",
     "gift", "cart_reminder", "presence", "event"}
)  # fmt: skip
_OFFERS: Final = frozenset({"coupon", "app", "clickstream", "presence"})


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
    found += [tp.Interest(pid, v.price, v.last_at, views=v.views) for pid, v in viewed]
    return found[:MOST]


class Touchpoints:
    """Reads the facts a touchpoint needs from the retailer's tables."""

    def __init__(
        self, catalog: Catalog, programmes: Programmes, links: CartLinks | None = None
    ) -> None:
        self.catalog = catalog
        self.programmes = programmes
        self.wishes = Wishes(catalog.engine)
        self.visits = Visits(catalog.engine)
        self.links = links

    def answers(
        self, ask: tp.Ask, profile: Profile | None, now: dt.datetime
    ) -> Iterator[tp.Shown | str]:
        """The touchpoint's answer; for ``app``, each of :data:`tp.APP_ORDER`'s in turn (the
        caller shows the first it has not shown before)."""
        cares = interest(profile)
        facts = self.facts(ask, cares, now, profile)
        kinds = tp.APP_ORDER if ask.touchpoint == "app" else (ask.touchpoint,)
        for kind in kinds:
            yield tp.answer(dataclasses.replace(ask, touchpoint=kind), cares, facts, now)

    def facts(
        self,
        ask: tp.Ask,
        cares: list[tp.Interest],
        now: dt.datetime,
        profile: Profile | None = None,
    ) -> tp.Facts:
        kind = ask.touchpoint
        extra = self._extra(ask, cares, now, profile)
        ids = list(dict.fromkeys(tp.products_of(ask, cares)[:MOST] + extra.pop("more", [])))
        catalog, programmes = self.catalog, self.programmes
        stores = kind in _STORE
        coupons = programmes.coupons(now) if kind in _OFFERS else []
        account = (
            programmes.account(ask.user_id) if ask.user_id and kind in ("loyalty", "app") else None
        )
        return tp.Facts(
            products=catalog.products(ids),
            stock=catalog.stocks(extra.pop("stocked", ids)) if stores else {},
            locations={x.store_code: x for x in catalog.locations()} if stores else {},
            changes=catalog.changes(ids, now - CHANGES) if kind in ("back_in_stock", "app") else [],
            account=account,
            tiers=programmes.tiers() if account is not None else [],
            coupons=coupons,
            redeemed=programmes.redemptions([c.coupon_id for c in coupons]) if coupons else {},
            promotions=programmes.promotions(now)
            if kind in ("app", "promo", "clickstream")
            else [],
            reviews=programmes.reviews(ask.product_id)
            if kind == "reviews" and ask.product_id
            else [],
            associates=programmes.associates() if kind in ("expert", "presence", "event") else [],
            **extra,
        )

    def _extra(
        self, ask: tp.Ask, cares: list[tp.Interest], now: dt.datetime, profile: Profile | None
    ) -> dict[str, Any]:
        """The facts of the touchpoints that read the shopper's own records; ``more`` names
        products to read beside those of interest, ``stocked`` those whose stock to read."""
        kind = ask.touchpoint
        if kind in ("wishlist", "gift", "event"):
            read = {"wishlist": self._wish_list, "gift": self._gift, "event": self._events}
            return read[kind](ask, now)
        if profile is None:
            return {}
        if kind == "cart_reminder":
            return {"cart_link": self._cart_link(cares, profile)}
        if kind == "clickstream":
            return self._clickstream(cares, profile, now)
        if kind == "presence":
            allowed = consent.consent_for(profile, "location", "presence") is True
            events = self.programmes.store_events(now) if allowed else []
            return {"location_opt_in": allowed, "events": events}
        return {}

    def _cart_link(self, cares: list[tp.Interest], profile: Profile) -> str | None:
        lines = [(i.product_id, i.quantity) for i in cares if i.in_cart]
        if self.links is None or not lines:
            return None
        return self.links.link(profile.profile_id, lines)

    def _wish_list(self, ask: tp.Ask, now: dt.datetime) -> dict[str, Any]:
        self.wishes.fold(now)
        wishes = self.wishes.items(ask.owners())
        listed = [w.product_id for w in wishes]
        related = [r.product_id for p in self.catalog.products(listed).values() for r in p.related]
        return {"wishes": wishes, "more": listed + related, "stocked": listed}

    def _gift(self, ask: tp.Ask, now: dt.datetime) -> dict[str, Any]:
        # the price in force is checked again in the core: a sale price may have ended
        found: dict[str, Any] = {
            "candidates": self.catalog.search(
                category=ask.category, cheaper=ask.budget, orderable=True, limit=CANDIDATES
            )
        }
        if ask.recipient:
            owner = [f"user_id:{ask.recipient}"]
            self.wishes.fold(now)
            if self.wishes.shared(owner):
                found["shared_wishes"] = self.wishes.items(owner)
                found["more"] = found["stocked"] = [w.product_id for w in found["shared_wishes"]]
        return found

    def _clickstream(
        self, cares: list[tp.Interest], profile: Profile, now: dt.datetime
    ) -> dict[str, Any]:
        tops = affinity.top_affinities(profile)
        scores = {
            f"{d}:{v}": affinity.affinity_at(profile, f"{d}:{v}", now)
            for d in ("brand", "category")
            if (v := tops[d]) is not None
        }
        candidates = []
        if tops["brand"]:
            candidates += self.catalog.search(brand=tops["brand"], limit=CANDIDATES)
        if tops["category"]:
            candidates += self.catalog.search(category=tops["category"], limit=CANDIDATES)
        viewed = next((i for i in cares if i.views >= visits.STRONG_VIEWS), None)
        if viewed is not None and (p := self.catalog.product(viewed.product_id)) and p.category:
            candidates += self.catalog.search(category=p.category, limit=CANDIDATES)
        return {"affinity": scores, "candidates": candidates}

    def _events(self, ask: tp.Ask, now: dt.datetime) -> dict[str, Any]:
        mine = self.visits.registrations(customer_id=ask.user_id) if ask.user_id else []
        events = self.programmes.store_events(now - dt.timedelta(days=14))
        featured = [pid for e in events for pid in e.product_ids]
        return {"events": events, "registrations": mine, "more": featured, "stocked": featured}
