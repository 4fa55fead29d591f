"""Touchpoints answered from what the shopper does right now: strong interest in the click
stream met with an offer or a product; being in or near a store (with location use allowed)
met with an invitation; store events: an invitation, a reminder, a follow-up."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Final

from juncture.core import comparisons, engagement, offers, retail
from juncture.core import retail_views as views
from juncture.core.touchpoints.base import (
    Ask,
    Facts,
    Interest,
    Shown,
    distance,
    online,
    product_view,
    store_view,
)

STRONG_VIEWS: Final = 3  # a product viewed this often is strong interest
STRONG_AFFINITY: Final = 3.0  # a brand or category scored this high now (three views)
GEOFENCE_KM: Final = 0.3  # a position this close to a store is in it
EVENT_AHEAD: Final = dt.timedelta(days=30)  # events this far ahead are invited to
FOLLOW_UP: Final = dt.timedelta(days=14)  # an event this recent is followed up


def signals(interest: Sequence[Interest], facts: Facts) -> list[tuple[str, str]]:
    """The shopper's strong interests, strongest first: ``("product", id)`` for a product
    viewed :data:`STRONG_VIEWS` times, then ``("brand" | "category", value)`` scored
    :data:`STRONG_AFFINITY` or more."""
    found = [("product", i.product_id) for i in interest if i.views >= STRONG_VIEWS]
    scored = sorted(
        ((-score, key) for key, score in facts.affinity.items() if score >= STRONG_AFFINITY),
    )
    for _, key in scored:
        dimension, _, value = key.partition(":")
        if dimension in ("brand", "category"):
            found.append((dimension, value))
    return found


def _targets(t: offers.Targeting, kind: str, value: str, facts: Facts) -> bool:
    """Whether an offer's targeting names this interest (an offer for everything does not
    answer a particular interest)."""
    if kind == "product":
        product = facts.products.get(value)
        return value in t.product_ids or (
            product is not None
            and (product.brand in t.brands or any(
                (product.category or "").startswith(c) for c in t.categories))
        )  # fmt: skip
    if kind == "brand":
        return value.lower() in {b.lower() for b in t.brands}
    return any(value.startswith(c) for c in t.categories)


def _offer(kind: str, value: str, facts: Facts, now: dt.datetime) -> dict[str, Any] | None:
    for p in facts.promotions:
        if offers.active(p.starts, p.ends, now) and _targets(p.targeting, kind, value, facts):
            return {"kind": "promotion", "id": p.promotion_id, "title": p.title, "code": p.code}
    for c in facts.coupons:
        under = c.limit is None or facts.redeemed.get(c.coupon_id, 0) < c.limit
        if (
            under
            and offers.active(c.starts, c.ends, now)
            and _targets(c.targeting, kind, value, facts)
        ):
            return {"kind": "coupon", "id": c.coupon_id, "title": c.title, "code": c.code,
                    "issuer": c.issuer}  # fmt: skip
    return None


def _product_for(
    kind: str, value: str, interest: Sequence[Interest], facts: Facts
) -> retail.Product | None:
    seen = {i.product_id for i in interest}
    anchor = facts.products.get(value) if kind == "product" else None
    for p in facts.candidates:
        if p.id in seen or not online(p):
            continue
        if kind == "brand" and (p.brand or "").lower() == value.lower():
            return p
        if kind == "category" and (p.category or "").startswith(value):
            return p
        if anchor is not None and p.category == anchor.category:
            return p
    return None


def clickstream(
    _ask: Ask, interest: Sequence[Interest], facts: Facts, now: dt.datetime
) -> Shown | str:
    """Strong interest (a product viewed again and again, a brand or category scored high)
    answered with a running promotion or coupon aimed at it, else an in-stock product of it
    the shopper has not seen."""
    found = signals(interest, facts)
    if not found:
        return "no_strong_interest"
    for kind, value in found:
        offer = _offer(kind, value, facts, now)
        if offer is not None:
            data = {"signal": {"kind": kind, "value": value}, "offer": offer, "product": None}
            return Shown("clickstream", data, "offer_for_interest", f"{kind}:{value}:{offer['id']}")
    for kind, value in found:
        product = _product_for(kind, value, interest, facts)
        if product is not None:
            data = {"signal": {"kind": kind, "value": value}, "offer": None,
                    "product": views.product_json(product, now)}  # fmt: skip
            return Shown(
                "clickstream", data, "product_for_interest", f"{kind}:{value}:{product.id}"
            )
    return "nothing_fits"


def _store_here(ask: Ask, facts: Facts) -> str | None:
    if ask.store_code:
        return ask.store_code
    if ask.point is None:
        return None
    near = [
        (far, code)
        for code, place in facts.locations.items()
        if place.kind == "store" and (far := distance(facts, code, ask.point)) is not None
    ]
    best = min(near, default=None)
    return best[1] if best is not None and best[0] <= GEOFENCE_KM else None


def presence(ask: Ask, interest: Sequence[Interest], facts: Facts, now: dt.datetime) -> Shown | str:
    """In or near a store (its code from a beacon or the point of sale, or a position within
    :data:`GEOFENCE_KM`), with location use allowed: an event there today, a coupon for
    that store, or an associate there today who knows what the shopper looks at."""
    if not facts.location_opt_in:
        return "no_location_opt_in"
    store = _store_here(ask, facts)
    if store is None:
        return "not_in_store"
    zone = retail.zone_of(facts.locations.get(store))
    local = now.astimezone(zone)  # the store's day and weekday
    today = [e for e in facts.events if e.store_code == store and not e.over(now)
             and e.starts.astimezone(zone).date() == local.date()]  # fmt: skip
    base = {"store": store_view(facts, store)}
    key = f"{store}:{local.date().isoformat()}"
    if today:
        data = {**base, "invitation": "event", "event": event_view(today[0], facts, now)}
        return Shown("presence", data, "presence_event", f"{key}:event")
    coupon = _coupon_here(store, interest, facts, now)
    if coupon is not None:
        data = {**base, "invitation": "coupon", "coupon": coupon}
        return Shown("presence", data, "presence_coupon", f"{key}:coupon:{coupon['id']}")
    day = retail.WEEKDAYS[local.weekday()]
    here = [a for a in facts.associates if a.store_code == store and day in a.schedule]
    for i in interest:
        product = facts.products.get(i.product_id)
        experts = comparisons.experts(here, product, day) if product else []
        if experts:
            a = experts[0]
            who = {"id": a.associate_id, "name": a.name, "today": "-".join(a.schedule[day])}
            data = {**base, "invitation": "associate", "associate": who,
                    "product": product_view(facts, i.product_id, now)}  # fmt: skip
            return Shown("presence", data, "presence_associate", f"{key}:associate")
    return "nothing_here"


def _coupon_here(
    store: str, interest: Sequence[Interest], facts: Facts, now: dt.datetime
) -> dict[str, Any] | None:
    """A coupon in force for this store (named in its targeting), under its limit; one
    aimed at a brand the shopper looks at first."""
    brands = {
        facts.products[i.product_id].brand for i in interest if i.product_id in facts.products
    }
    found = [
        c for c in facts.coupons
        if store in c.targeting.store_codes and offers.active(c.starts, c.ends, now)
        and (c.limit is None or facts.redeemed.get(c.coupon_id, 0) < c.limit)
    ]  # fmt: skip
    found.sort(key=lambda c: (not (set(c.targeting.brands) & brands), c.coupon_id))
    if not found:
        return None
    c = found[0]
    return {"id": c.coupon_id, "title": c.title, "issuer": c.issuer, "issuerKind": c.issuer_kind,
            "code": c.code}  # fmt: skip


def event_view(e: engagement.StoreEvent, facts: Facts, now: dt.datetime) -> dict[str, Any]:
    """An event with its products (price in force, stock at the event's store) and the
    associates hosting it."""
    products = []
    for pid in e.product_ids:
        if pid in facts.products:
            line = next((s for s in facts.stock.get(pid, ()) if s.store_code == e.store_code), None)
            products.append({**product_view(facts, pid, now),
                             "quantityThere": line.quantity if line else None})  # fmt: skip
    hosts = [{"id": a.associate_id, "name": a.name} for a in facts.associates
             if a.associate_id in e.associate_ids]  # fmt: skip
    return {
        "id": e.event_id, "title": e.title, "description": e.description,
        "startsAt": e.starts.isoformat(), "endsAt": e.ends.isoformat() if e.ends else None,
        "store": store_view(facts, e.store_code) if e.store_code else None, "link": e.link,
        "products": products, "associates": hosts,
    }  # fmt: skip


def _about(e: engagement.StoreEvent, interest: Sequence[Interest], facts: Facts) -> bool:
    """Whether an event features a product of interest or a line one belongs to."""
    for i in interest:
        product = facts.products.get(i.product_id)
        if i.product_id in e.product_ids:
            return True
        if product is not None and any(
            (product.category or "").startswith(line) or line == product.brand for line in e.lines
        ):
            return True
    return False


def store_event(
    ask: Ask, interest: Sequence[Interest], facts: Facts, now: dt.datetime
) -> Shown | str:
    """For a registered shopper: a follow-up after an event they attended (or missed), a
    reminder before one; else an invitation to an upcoming event about what they look at,
    at their store or online."""
    events = {e.event_id: e for e in facts.events}
    mine = sorted(
        (r for r in facts.registrations if r.event_id in events),
        key=lambda r: events[r.event_id].starts,
        reverse=True,
    )
    for r in mine:
        e = events[r.event_id]
        if e.over(now) and now - e.starts <= FOLLOW_UP:
            reason = "event_follow_up" if r.attended_at else "event_missed"
            data = {"event": event_view(e, facts, now), "registered": True,
                    "attended": r.attended_at is not None}  # fmt: skip
            return Shown("event", data, reason, f"{e.event_id}:{reason}")
        if not e.over(now):
            data = {"event": event_view(e, facts, now), "registered": True, "attended": False}
            return Shown("event", data, "event_reminder", f"{e.event_id}:reminder")
    registered = {r.event_id for r in facts.registrations}
    for e in facts.events:
        if e.event_id in registered or e.over(now) or e.starts - now > EVENT_AHEAD:
            continue
        here = e.store_code in (None, ask.store_code) or ask.store_code is None
        if here and _about(e, interest, facts):
            data = {"event": event_view(e, facts, now), "registered": False, "attended": False}
            return Shown("event", data, "event_invitation", f"{e.event_id}:invitation")
    return "no_event"
