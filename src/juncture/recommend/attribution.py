"""What recommendations led to, per kind, from the events the storefront sends anyway.

A recommendation's id (``rec_<kind>_<hex>``) travels with the shopper's events:
``Product List Viewed`` with ``list_id`` (or ``recommendation_id``) the id, when a page shows
the list (an impression); ``Product Clicked`` with ``recommendation_id`` (a click); a click
is *converted* when the same shopper orders the clicked product within :data:`WINDOW`
after the click. An impression counts once per recommendation id and shopper, a click and
its conversion once per recommendation id, shopper and product.

>>> import datetime as dt
>>> at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
>>> rid = "rec_similar_1"
>>> seen = [("u", "Product List Viewed", at, {"list_id": rid}),
...         ("u", "Product Clicked", at, {"recommendation_id": rid, "product_id": "a"}),
...         ("u", "Order Completed", at + dt.timedelta(hours=1),
...          {"products": [{"product_id": "a", "price": 20.0, "quantity": 2}]})]
>>> figures = report(seen)["similar"]
>>> figures["impressions"], figures["clicks"], figures["conversions"], figures["revenue"]
(1, 1, 1, 40.0)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any, Final

from juncture.core.profile.properties import number, product_key
from juncture.recommend.base import KINDS

PREFIX: Final = "rec_"
WINDOW: Final = dt.timedelta(days=7)
EVENTS: Final = ("Product List Viewed", "Product Clicked", "Order Completed")

Seen = tuple[str, str, dt.datetime, Mapping[str, Any]]  # shopper, event, time, properties


def new_id(kind: str, token: str) -> str:
    """A recommendation id that names its kind (``token``: unique, from the runtime)."""
    return f"{PREFIX}{kind}_{token}"


def kind_of(rid: object) -> str | None:
    """The kind a recommendation id names; None for anything else."""
    if not isinstance(rid, str) or not rid.startswith(PREFIX):
        return None
    kind = rid[len(PREFIX) :].rsplit("_", 1)[0]
    return kind if kind in KINDS else None


def report(events: Iterable[Seen]) -> dict[str, dict[str, float]]:
    """Impressions, clicks, conversions, attributed revenue and the two rates, per kind."""
    shown: set[tuple[str, str, str]] = set()  # (kind, id, shopper)
    clicks: dict[tuple[str, str, str], tuple[dt.datetime, str]] = {}  # (id, product, shopper)
    orders: dict[str, list[tuple[dt.datetime, Mapping[str, Any]]]] = {}  # by shopper
    for shopper, event, at, props in events:
        if event == "Product List Viewed":
            rid = props.get("list_id") or props.get("recommendation_id")
            if (kind := kind_of(rid)) is not None:
                shown.add((kind, str(rid), shopper))
        elif event == "Product Clicked":
            rid, product = props.get("recommendation_id"), product_key(dict(props))
            if kind_of(rid) is not None and product is not None:
                clicks.setdefault((str(rid), product, shopper), (at, str(kind_of(rid))))
        elif event == "Order Completed":
            orders.setdefault(shopper, []).append((at, props))
    found = {kind: {"impressions": 0, "clicks": 0, "conversions": 0, "revenue": 0.0}
             for kind in KINDS}  # fmt: skip
    for placed in orders.values():
        placed.sort(key=lambda o: o[0])
    for kind, _, _ in shown:
        found[kind]["impressions"] += 1
    for (_, product, shopper), (at, kind) in clicks.items():
        found[kind]["clicks"] += 1
        revenue = _bought(orders.get(shopper, ()), product, at)
        if revenue is not None:
            found[kind]["conversions"] += 1
            found[kind]["revenue"] += revenue
    return {kind: _rates(figures) for kind, figures in found.items()}


def _bought(
    orders: Iterable[tuple[dt.datetime, Mapping[str, Any]]], product: str, clicked: dt.datetime
) -> float | None:
    """The revenue of ``product`` in the first of the shopper's ``orders`` (in time order)
    within the window after the click, if any."""
    for at, props in orders:
        if not clicked <= at <= clicked + WINDOW:
            continue
        for line in props.get("products") or ():
            if isinstance(line, dict) and product_key(line) == product:
                price = number(line.get("price")) or 0.0
                return price * (number(line.get("quantity")) or 1.0)
    return None


def _rates(figures: dict[str, Any]) -> dict[str, float]:
    shown, clicked = figures["impressions"], figures["clicks"]
    return {
        **figures,
        "click_through": clicked / shown if shown else 0.0,
        "conversion": figures["conversions"] / clicked if clicked else 0.0,
    }
