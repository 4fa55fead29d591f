"""Merging two profiles of one person (:func:`merge_profiles`): the survivor keeps every
trait, nothing is lost or counted twice, and the result does not depend on which of two
equal inputs came first (the property tests in ``tests/unit/core/test_profile.py``)."""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, Final

import msgspec

from juncture.core.profile import replenish
from juncture.core.profile.affinity import decay
from juncture.core.profile.consent import set_consent
from juncture.core.profile.model import (
    DEFAULT_CONFIG,
    MAX_CART_IDS,
    Cart,
    Consent,
    ProductView,
    Profile,
    ProfileConfig,
    Score,
    Span,
)
from juncture.core.profile.orders import last_order

_EPOCH: Final = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


def merge_profiles(
    survivor: Profile, merged: Profile, config: ProfileConfig = DEFAULT_CONFIG
) -> Profile:
    """One profile holding both, nothing lost or counted twice; the id is the survivor's.

    Traits and consent: the later statement wins (ties: the survivor's; consent: denial).
    Counts add; sets and per-key times union (latest time); sessions and visits coalesce;
    orders union by order id; the cart updated last wins.
    """
    a, b = survivor, merged
    joined = msgspec.structs.replace(
        a,
        first_seen=_min_time(a.first_seen, b.first_seen),
        last_seen=_max_time(a.last_seen, b.last_seen),
        event_counts=_add_counts(a.event_counts, b.event_counts),
        **_merge_traits(a, b),
        consent=_merge_consent(a.consent, b.consent),
        **_merge_sessions(a, b, config),
        **_merge_seen(a, b),
        **_merge_products(a, b, config),
        **_merge_affinity(a, b, config),
        cart=_merge_cart(a.cart, b.cart),
        **_merge_orders(a, b),
        nps=_later_score(a.nps, b.nps),
        csat=_later_score(a.csat, b.csat),
        support_tickets=a.support_tickets + b.support_tickets,
        reviews=a.reviews + b.reviews,
        rating_sum=a.rating_sum + b.rating_sum,
    )
    return replenish.refresh(joined, config)  # the trait from both histories at once


def _min_time(a: dt.datetime | None, b: dt.datetime | None) -> dt.datetime | None:
    return b if a is None else a if b is None else min(a, b)


def _max_time(a: dt.datetime | None, b: dt.datetime | None) -> dt.datetime | None:
    return b if a is None else a if b is None else max(a, b)


def _add_counts(a: dict[str, int], b: dict[str, int]) -> dict[str, int]:
    out = dict(a)
    for key, n in b.items():
        out[key] = out.get(key, 0) + n
    return out


def _merge_traits(a: Profile, b: Profile) -> dict[str, Any]:
    traits, trait_at = dict(a.traits), dict(a.trait_at)
    for key, value in b.traits.items():
        at = b.trait_at[key]
        if key not in trait_at or at > trait_at[key]:
            traits[key], trait_at[key] = value, at
    return {"traits": traits, "trait_at": trait_at}


def _merge_consent(a: dict[str, Consent], b: dict[str, Consent]) -> dict[str, Consent]:
    out = a
    for key, entry in b.items():
        out = set_consent(out, key, entry.granted, entry.at)
    return out


def _merge_sessions(a: Profile, b: Profile, config: ProfileConfig) -> dict[str, Any]:
    spans, dropped = _merge_spans(a.sessions, b.sessions, config.session_gap, config.keep_sessions)
    return {
        "sessions": spans,
        "sessions_archived": a.sessions_archived + b.sessions_archived + dropped,
    }


def _merge_seen(a: Profile, b: Profile) -> dict[str, Any]:
    channels = _union_latest(a.channels, b.channels)
    devices = _union_latest(a.devices, b.devices)
    return {
        "channels": channels,
        "last_channel": _latest_key(a.last_channel, b.last_channel, channels),
        "devices": devices,
        "last_device": _latest_key(a.last_device, b.last_device, devices),
    }


def _union_latest(a: dict[str, dt.datetime], b: dict[str, dt.datetime]) -> dict[str, dt.datetime]:
    out = dict(a)
    for key, t in b.items():
        if key not in out or t > out[key]:
            out[key] = t
    return out


def _latest_key(a: str | None, b: str | None, seen: dict[str, dt.datetime]) -> str | None:
    if a is None or b is None:
        return a or b
    return b if seen[b] > seen[a] else a


def _merge_products(a: Profile, b: Profile, config: ProfileConfig) -> dict[str, Any]:
    products = dict(a.products)
    for pid, theirs in b.products.items():
        ours = products.get(pid)
        products[pid] = theirs if ours is None else _merge_view(ours, theirs, config)
    last = a.last_product
    if b.last_product is not None and (
        last is None or _view_time(products, b.last_product) > _view_time(products, last)
    ):
        last = b.last_product
    return {"products": products, "last_product": last}


def _view_time(products: dict[str, ProductView], pid: str) -> dt.datetime:
    view = products.get(pid)
    return view.last_at if view is not None and view.last_at is not None else _EPOCH


def _merge_view(a: ProductView, b: ProductView, config: ProfileConfig) -> ProductView:
    visits, dropped = _merge_spans(a.visits, b.visits, config.revisit_gap, config.keep_visits)
    newer = b if (b.last_at or _EPOCH) > (a.last_at or _EPOCH) else a
    return ProductView(
        views=a.views + b.views,
        visits=visits,
        visits_archived=a.visits_archived + b.visits_archived + dropped,
        last_at=newer.last_at,
        seconds=a.seconds + b.seconds,
        spec_views=a.spec_views + b.spec_views,
        review_views=a.review_views + b.review_views,
        category=newer.category,
        brand=newer.brand,
        price=newer.price,
    )


def _merge_affinity(a: Profile, b: Profile, config: ProfileConfig) -> dict[str, Any]:
    if a.affinity_ref is None or b.affinity_ref is None:
        src = a if b.affinity_ref is None else b
        return {"affinity": dict(src.affinity), "affinity_ref": src.affinity_ref}
    # Scores are sums at a reference time: bring both to the later reference, then add.
    ref = max(a.affinity_ref, b.affinity_ref)
    scores: dict[str, float] = {}
    for side in (a, b):
        assert side.affinity_ref is not None
        factor = decay(side.affinity_ref, ref, config)
        for key, value in side.affinity.items():
            scores[key] = scores.get(key, 0.0) + value * factor
    return {"affinity": scores, "affinity_ref": ref}


def _merge_cart(a: Cart, b: Cart) -> Cart:
    newer, older = (b, a) if (b.updated_at or _EPOCH) > (a.updated_at or _EPOCH) else (a, b)
    cleared = _max_time(a.cleared_at, b.cleared_at)
    if cleared is not None and newer.updated_at is not None and newer.updated_at <= cleared:
        return Cart(updated_at=newer.updated_at, cleared_at=cleared, currency=newer.currency)
    ids = newer.ids
    if older.updated_at is not None and (cleared is None or older.updated_at > cleared):
        # Both carts live on in one: an order now settles the ids of either.
        ids = tuple(dict.fromkeys((*older.ids, *newer.ids)))[-MAX_CART_IDS:]
    return msgspec.structs.replace(newer, cleared_at=cleared, ids=ids)


def _merge_orders(a: Profile, b: Profile) -> dict[str, Any]:
    orders = dict(a.orders)
    for order_id, order in b.orders.items():
        known = orders.get(order_id)
        if known is None or order.at < known.at:
            orders[order_id] = order
    return {
        "orders": orders,
        "revenue": math.fsum(o.revenue for o in orders.values()),
        "last_order_id": last_order(orders),
    }


def _later_score(a: Score | None, b: Score | None) -> Score | None:
    if a is None or b is None:
        return a or b
    return b if b.at > a.at else a


def _merge_spans(
    a: tuple[Span, ...], b: tuple[Span, ...], gap: dt.timedelta, keep: int
) -> tuple[tuple[Span, ...], int]:
    out: list[Span] = []
    for start, end in sorted((*a, *b)):
        if out and out[-1][1] + gap >= start:
            out[-1] = (out[-1][0], max(out[-1][1], end))
        else:
            out.append((start, end))
    dropped = max(0, len(out) - keep)
    return tuple(out[dropped:]), dropped
