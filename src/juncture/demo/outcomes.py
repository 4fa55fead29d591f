"""What the demo's on-site touchpoints and recommendations led to, read back from the store.

Shown: the on-site impressions recorded (``outbox`` rows ``shown``, by touchpoint; a
recommendation slot by the kind it showed). Clicked: the shopper's ``Promotion Clicked``
naming the touchpoint (``promotion_id`` ``touchpoint_<kind>``), or ``Product Clicked`` with
a recommendation's id. Converted: an order by the same shopper within :data:`WINDOW` after
a click (for recommendations, an order of the clicked product:
:mod:`juncture.recommend.attribution`).

Recommendation-driven revenue against the holdout: per shopper who saw a recommendation
list on the site (``Product List Viewed`` whose ``list_id`` is a recommendation id), the
revenue attributed to their clicks on recommendations (on the site and in messages); the
personalised arm against the best-sellers arm with Welch's interval
(:func:`juncture.analytics.experiments.welch`). A shopper whose lists came from both arms
(two profiles merged) is left out and counted.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable
from typing import Any, Final

from juncture.analytics.experiments import Moments, welch
from juncture.recommend import attribution
from juncture.recommend.base import BEST_SELLERS
from juncture.store.outbox import Outbox
from juncture.store.recommend import ProductEvent, RecommendReads

WINDOW: Final = dt.timedelta(days=1)
PAGE: Final = 1000
EVENTS: Final = ("Promotion Clicked", *attribution.EVENTS)
PREFIX: Final = "touchpoint_"


def shown(outbox: Outbox) -> Counter[str]:
    """On-site impressions per touchpoint (a recommendation slot: the kind it showed)."""
    found: Counter[str] = Counter()
    after = 0
    while rows := outbox.deliveries(status="shown", limit=PAGE, after_id=after):
        for row in rows:
            data = row.payload.get("data") or {}
            kind = data.get("kind") if isinstance(data, dict) else None
            found[str(kind if isinstance(kind, str) else row.payload.get("kind"))] += 1
        after = rows[-1].id
    return found


def report(outbox: Outbox, reads: RecommendReads) -> dict[str, Any]:
    """``touchpoints`` (shown, clicked, converted per kind) and ``recommendations`` (per
    arm, and the comparison)."""
    by_shopper: dict[str, list[ProductEvent]] = {}
    for event in reads.all_events(EVENTS):
        by_shopper.setdefault(event.shopper, []).append(event)
    touch = {kind: {"shown": n, "clicked": 0, "converted": 0} for kind, n in shown(outbox).items()}
    for events in by_shopper.values():
        _touchpoints(events, touch)
    seen = ((e.shopper, e.event, e.at, e.properties) for es in by_shopper.values() for e in es)
    for kind, figures in attribution.report(seen).items():
        if kind in touch:  # a recommendation slot: its clicks and orders of what was clicked
            clicked, converted = int(figures["clicks"]), int(figures["conversions"])
            touch[kind].update(clicked=clicked, converted=converted)
    return {"touchpoints": touch, "recommendations": _recommendations(by_shopper.values())}


def _touchpoints(events: list[ProductEvent], found: dict[str, dict[str, int]]) -> None:
    orders = [e.at for e in events if e.event == "Order Completed"]
    for e in events:
        promotion = e.properties.get("promotion_id")
        if e.event != "Promotion Clicked" or not str(promotion).startswith(PREFIX):
            continue
        figures = found.setdefault(
            str(promotion)[len(PREFIX) :], {"shown": 0, "clicked": 0, "converted": 0}
        )
        figures["clicked"] += 1
        figures["converted"] += any(e.at <= at <= e.at + WINDOW for at in orders)


def _recommendations(shoppers: Iterable[list[ProductEvent]]) -> dict[str, Any]:
    revenue: dict[str, list[float]] = {"personal": [], "popular": []}
    totals = {name: Counter[str]() for name in revenue}
    mixed = 0
    for events in shoppers:
        lists = {
            attribution.kind_of(e.properties.get("list_id"))
            for e in events
            if e.event == "Product List Viewed"
        } - {None}
        if not lists:
            continue
        arms = {"popular" if kind == BEST_SELLERS else "personal" for kind in lists}
        if len(arms) > 1:
            mixed += 1
            continue
        name = arms.pop()
        seen = ((e.shopper, e.event, e.at, e.properties) for e in events)
        figures = attribution.report(seen)
        total = totals[name]
        total["shoppers"] += 1
        for kind_figures in figures.values():
            for key in ("impressions", "clicks", "conversions"):
                total[key] += int(kind_figures[key])
        revenue[name].append(sum(f["revenue"] for f in figures.values()))
    arms_json = {
        name: {**dict(totals[name]), "revenue": round(sum(values), 2)}
        for name, values in revenue.items()
    }
    out: dict[str, Any] = {"arms": arms_json, "mixed_shoppers": mixed}
    if all(len(values) >= 2 for values in revenue.values()):
        comparison = welch(Moments.of(revenue["personal"]), Moments.of(revenue["popular"]))
        out["revenue_per_shopper"] = comparison.to_json()
    return out
