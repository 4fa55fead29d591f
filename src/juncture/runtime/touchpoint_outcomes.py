"""What the on-site touchpoints and recommendations led to, read back from the store: the
demo's summary and the dashboard's Catalogue page both show these figures.

Shown: the on-site impressions recorded (``outbox`` rows ``shown``, by touchpoint; a
recommendation slot by the kind it showed; ``app`` counts the rows its placement showed,
whatever their kind). Clicked: the shopper's ``Promotion Clicked`` naming the touchpoint
(``promotion_id`` ``touchpoint_<kind>``; ``app`` those whose ``placement`` is the app's), or
``Product Clicked`` with a recommendation's id. Converted: an order by the same shopper within
:data:`WINDOW` after a click (for recommendations, an order of the clicked product:
:mod:`juncture.recommend.attribution`); ``bought``: an order within :data:`WINDOW` of the
product the click opened. What the touchpoints' buttons led to, from the events the API
told: ``expert`` appointments ``booked``, ``cancelled`` and ``attended`` (the shopper's app
told a visit to that store around its start), ``event`` registrations ``registered`` and
``attended`` (checked in), ``endless_aisle`` orders ``ordered``, and coupons ``redeemed``
at a checkout (``Coupon Applied``), under the touchpoint it came from (its ``promotion_id``).

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
from collections.abc import Callable, Iterable
from typing import Any, Final

from juncture.analytics.experiments import Moments, welch
from juncture.recommend import attribution
from juncture.recommend.base import BEST_SELLERS
from juncture.store.outbox import Outbox
from juncture.store.recommend import ProductEvent, RecommendReads

WINDOW: Final = dt.timedelta(days=1)
PAGE: Final = 1000
ACTIONS: Final = (
    "Appointment Booked", "Appointment Cancelled", "Store Visited", "Store Event Registered",
    "Store Event Attended", "Coupon Applied",
)  # fmt: skip
EVENTS: Final = ("Promotion Clicked", *attribution.EVENTS, *ACTIONS)
PREFIX: Final = "touchpoint_"
APP: Final = "app"
ATTENDED: Final = (dt.timedelta(minutes=-30), dt.timedelta(hours=1))  # around the start


def shown(outbox: Outbox) -> Counter[str]:
    """On-site impressions per touchpoint (a recommendation slot: the kind it showed)."""
    found: Counter[str] = Counter()
    after = 0
    while rows := outbox.deliveries(status="shown", limit=PAGE, after_id=after):
        for row in rows:
            data = row.payload.get("data") or {}
            kind = data.get("kind") if isinstance(data, dict) else None
            found[str(kind if isinstance(kind, str) else row.payload.get("kind"))] += 1
            found[APP] += row.payload.get("placement") == APP
        after = rows[-1].id
    return found


def report(outbox: Outbox, reads: RecommendReads) -> dict[str, Any]:
    """``touchpoints`` (:func:`touchpoints`) and ``recommendations`` (per arm, and the
    comparison)."""
    by_shopper = _by_shopper(reads)
    return {"touchpoints": _outcomes(outbox, by_shopper),
            "recommendations": _recommendations(by_shopper.values())}  # fmt: skip


def touchpoints(outbox: Outbox, reads: RecommendReads) -> dict[str, dict[str, int]]:
    """Per touchpoint kind: ``shown``, ``clicked``, ``converted``, and what its buttons led
    to where it has any (``bought``, ``redeemed``, ``booked``, ...; see the module)."""
    return _outcomes(outbox, _by_shopper(reads))


def beyond(row: dict[str, int]) -> str:
    """What a touchpoint's clicks and buttons led to beyond an order, in words: bought the
    product clicked, booked, redeemed... ("-" for nothing)."""
    done = {k: v for k, v in row.items() if k not in ("shown", "clicked", "converted") and v}
    return ", ".join(f"{v:,} {k}" for k, v in done.items()) or "-"


def _by_shopper(reads: RecommendReads) -> dict[str, list[ProductEvent]]:
    found: dict[str, list[ProductEvent]] = {}
    for event in reads.all_events(EVENTS):
        found.setdefault(event.shopper, []).append(event)
    return found


def _outcomes(
    outbox: Outbox, by_shopper: dict[str, list[ProductEvent]]
) -> dict[str, dict[str, int]]:
    touch = {kind: {"shown": n, "clicked": 0, "converted": 0} for kind, n in shown(outbox).items()}
    for events in by_shopper.values():
        _touchpoints(events, touch)
    seen = ((e.shopper, e.event, e.at, e.properties) for es in by_shopper.values() for e in es)
    for kind, figures in attribution.report(seen).items():
        if kind in touch:  # a recommendation slot: its clicks and orders of what was clicked
            clicked, converted = int(figures["clicks"]), int(figures["conversions"])
            touch[kind].update(clicked=clicked, converted=converted)
    return touch


def _touchpoints(events: list[ProductEvent], found: dict[str, dict[str, int]]) -> None:
    """One shopper's clicks on touchpoints and what they led to (see the module)."""

    def add(kind: str, figure: str, n: int = 1) -> None:
        found.setdefault(kind, {"shown": 0, "clicked": 0, "converted": 0})
        found[kind][figure] = found[kind].get(figure, 0) + n

    orders = [(e.at, _products(e)) for e in events if e.event == "Order Completed"]
    for e in events:
        promotion = str(e.properties.get("promotion_id"))
        if e.event == "Coupon Applied" and promotion.startswith(PREFIX):
            add(promotion[len(PREFIX) :], "redeemed")
        elif e.event == "Promotion Clicked" and promotion.startswith(PREFIX):
            kind = promotion[len(PREFIX) :]
            after = [bought for at, bought in orders if e.at <= at <= e.at + WINDOW]
            product = e.properties.get("product_id")
            from_app = e.properties.get("placement") == APP and kind != APP
            for name in (kind, APP) if from_app else (kind,):
                add(name, "clicked")
                add(name, "converted", bool(after))
                add(name, "bought", any(product in bought for bought in after))
        elif e.event == "Order Completed" and e.properties.get("fulfillment") == "endless_aisle":
            add("endless_aisle", "ordered")
        elif e.event in ("Store Event Registered", "Store Event Attended"):
            add("event", "registered" if e.event.endswith("Registered") else "attended")
    _appointments(events, add)


def _appointments(events: list[ProductEvent], add: Callable[[str, str], None]) -> None:
    """Appointments booked and cancelled; attended: not cancelled, and a visit to the store
    told around the start."""
    kept: dict[str, tuple[str, dt.datetime]] = {}
    for e in events:
        found = str(e.properties.get("appointment_id"))
        if e.event == "Appointment Booked":
            add("expert", "booked")
            starts = dt.datetime.fromisoformat(str(e.properties["starts_at"]))
            kept[found] = (str(e.properties.get("store_code")), starts.astimezone(dt.UTC))
        elif e.event == "Appointment Cancelled":
            add("expert", "cancelled")
            kept.pop(found, None)
    visits = [(e.properties.get("store_id"), e.at) for e in events if e.event == "Store Visited"]
    early, late = ATTENDED
    for store, starts in kept.values():
        if any(s == store and starts + early <= at <= starts + late for s, at in visits):
            add("expert", "attended")


def _products(e: ProductEvent) -> set[str]:
    lines = e.properties.get("products")
    return {str(p.get("product_id")) for p in lines if isinstance(p, dict)} if lines else set()


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
