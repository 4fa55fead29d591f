"""The demo retailer's tables, and what its pages ask Juncture while the shoppers shop.

:func:`load_tables` imports the simulated catalogue and programmes
(:mod:`juncture.sim.feeds`) through the import path of ``juncture catalog import``;
:func:`change_tables` imports a day's delta (stock out and back, prices dropping), whose
changes become events for the shoppers who care (wish-listed, viewed, carted).

:class:`Pages` plays the retailer's storefront and app: for each stored event that a page
would answer (the app opened, a product wish-listed, a store entered, a question asked, a
second product of one category viewed, the cart viewed) it asks ``POST /v1/decide``'s
decider in-process for the touchpoint, and hands what was shown to the simulated shopper.

Recommendations are split in two arms by profile (:func:`arm`): the personalised kinds, or
best-sellers only (the holdout), on the pages and in messages (:class:`MessageShelf`).
"""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any, Final

from juncture import wiring
from juncture.channels.shelf import DEFAULT, Shelf
from juncture.core import touchpoints as tp
from juncture.core.identity import profile_id_for
from juncture.core.journeys.machine import bucket
from juncture.recommend.base import BEST_SELLERS, KINDS, PEOPLE_LIKE_YOU, Ask
from juncture.runtime.catalog_events import Announcer
from juncture.runtime.catalog_import import import_feed
from juncture.runtime.clock import Clock
from juncture.runtime.decide import Decider
from juncture.runtime.recommend import Recommendations
from juncture.runtime.recommend_slots import SHOWN, items
from juncture.runtime.touchpoints import Touchpoints
from juncture.sim import Simulation, feeds
from juncture.sim.response import Delivery

HOLDOUT: Final = 0.5  # the share of profiles whose recommendations are best-sellers only
# The share of shoppers whose pages ask for touchpoints (by their userId, else anonymousId):
# each answer costs milliseconds, and the demo must stay under a minute.
PAGES: Final = 0.1
COMPARE_AFTER: Final = 3  # products of one category viewed in a step before comparing
POPULAR: Final = BEST_SELLERS
PERSONAL: Final = PEOPLE_LIKE_YOU  # the on-site slot's kind in the personalised arm
SLOT: Final = "recs"  # the touchpoints' name for the recommendation slot of the cart page


def arm(profile_id: str) -> str:
    """``best_sellers`` for the holdout, else ``people_like_you``."""
    return POPULAR if bucket("demo-recs-holdout", profile_id) < HOLDOUT else PERSONAL


def load_tables(juncture: wiring.Juncture, sim: Simulation, clock: Clock) -> dict[str, int]:
    """Import every table's feed; the rows imported per kind (a refused row is a bug)."""
    imported: dict[str, int] = {}
    for kind, data in feeds.feeds(sim.catalog, sim.customers, sim.start).items():
        report = _import(juncture, kind, data, clock, announce=None)
        imported[kind] = report
    return imported


def change_tables(juncture: wiring.Juncture, sim: Simulation, day: int, clock: Clock) -> int:
    """Import day ``day``'s delta; the events announced for the shoppers who care."""
    announce = Announcer(juncture.store.catalog, juncture.ingestor)
    announced = 0
    for kind, data in feeds.changes(sim.catalog, day).items():
        announced += _import(juncture, kind, data, clock, announce=announce)
    return announced


def _import(
    juncture: wiring.Juncture, kind: str, data: bytes, clock: Clock, announce: Announcer | None
) -> int:
    store = juncture.store
    name = f"demo-{kind}.jsonl"
    report = import_feed(
        store.catalog, store.programmes, io.BytesIO(data), name, kind=kind, now=clock.now(),
        fmt="jsonl", announce=announce,
    )  # fmt: skip
    if report.refused:
        problem = report.refused[0]
        raise RuntimeError(f"{name}:{problem.line}: {problem.column}: {problem.message}")
    return report.announced if announce is not None else report.rows


class MessageShelf:
    """The ``recommendations`` of a message (the dispatcher's ``shelf``): in the holdout
    every list a template asks for is best-sellers. Remembers the last list each profile
    was shown, for the simulated inbox to hand over with the message."""

    def __init__(self, recs: Recommendations) -> None:
        self.recs = recs
        self.listed: dict[str, tuple[str, tuple[str, ...]]] = {}

    def __call__(self, profile_id: str) -> Shelf:
        holdout = arm(profile_id) == POPULAR

        def fetch(kind: str) -> list[dict[str, Any]]:
            kind = POPULAR if holdout else PERSONAL if kind == DEFAULT else kind
            if kind not in KINDS:
                return []
            result = self.recs.recommend(Ask(kind, SHOWN), self.recs.profile(profile_id))
            found = items(result)
            if found:
                shown = tuple(i["product_id"] for i in found)
                self.listed[profile_id] = (result.recommendation_id, shown)
            return found

        return Shelf(fetch)


class Pages:
    """The storefront and app of the demo retailer (see the module's docstring)."""

    def __init__(self, juncture: wiring.Juncture, clock: Clock, share: float = PAGES) -> None:
        store, self.clock, self.share = juncture.store, clock, share
        self.placements = store.placements
        touchpoints = Touchpoints(store.catalog, store.programmes)
        self.decider = Decider(
            store.placements, clock, juncture.settings.onsite_cap_per_day,
            juncture.templates(), touchpoints, recommendations=juncture.recommendations(),
        )  # fmt: skip
        self.asked: Counter[str] = Counter()
        self.answered: Counter[str] = Counter()

    def serve(self, batch: list[dict[str, Any]]) -> list[Delivery]:
        """Ask for the touchpoint each message's page would show; what was shown, to hand to
        the shoppers."""
        shown: list[Delivery] = []
        for message, ask in _asks(batch, self.share):
            ids = [f"{k}:{v}" for k, v in (("user_id", message.get("userId")),
                   ("anonymous_id", message.get("anonymousId"))) if v]  # fmt: skip
            found = self._decide(ids, ask)
            if found is not None:
                shown.append(_delivery(found, message, self.clock))
        return shown

    def _decide(self, ids: list[str], ask: tp.Ask) -> tuple[str, Mapping[str, Any]] | None:
        kind = ask.touchpoint
        if kind == SLOT:
            pid = self.placements.resolve(ids) or profile_id_for(ids[0])
            kind = arm(pid)
            ask = tp.Ask(f"recs:{kind}", user_id=ask.user_id, anonymous_id=ask.anonymous_id)
        self.asked[kind] += 1
        answer = self.decider.decide(ids, ask.touchpoint, ask)
        if answer.show is None:
            return None
        self.answered[kind] += 1
        return (kind if kind in KINDS else answer.show.kind), answer.show.data


def _asks(batch: list[dict[str, Any]], share: float) -> Iterator[tuple[dict[str, Any], tp.Ask]]:
    """The touchpoint each message's page asks for, for a ``share`` of the shoppers (at
    most one comparison per shopper and step: the third product of one category viewed)."""
    seen: dict[str, Counter[str]] = {}
    for m in batch:
        if bucket("demo-pages", str(m.get("userId") or m.get("anonymousId"))) >= share:
            continue
        props = m.get("properties") or {}
        who = {"user_id": m.get("userId"), "anonymous_id": m.get("anonymousId")}
        event = m.get("event")
        product = props.get("product_id")
        if event == "Application Opened":
            yield m, tp.Ask("app", **who)
        elif event == "Product Added to Wishlist":
            yield m, tp.Ask("wishlist", product_id=product, **who)
        elif event == "Store Visited":
            yield m, tp.Ask("presence", store_code=props.get("store_id"), **who)
        elif event == "Question Asked" and props.get("store_code"):
            yield m, tp.Ask("expert", product_id=product, store_code=props["store_code"], **who)
        elif event == "Question Asked":
            yield m, tp.Ask("specs", product_id=product, question=props.get("question"), **who)
        elif event == "Cart Viewed":
            yield m, tp.Ask(SLOT, **who)
        elif event == "Product Viewed" and isinstance(props.get("category"), str):
            viewed = seen.setdefault(str(m.get("anonymousId")), Counter())
            viewed[props["category"]] += 1
            if viewed[props["category"]] == COMPARE_AFTER and not viewed["(compared)"]:
                viewed["(compared)"] = 1
                yield m, tp.Ask("compare", product_id=product, **who)


def _delivery(
    found: tuple[str, Mapping[str, Any]], message: dict[str, Any], clock: Clock
) -> Delivery:
    kind, data = found
    listed = data.get("products") if kind in KINDS else None
    recommended = tuple(str(p["product_id"]) for p in listed or ())
    return Delivery(
        at=clock.now(),
        channel="onsite",
        template=f"onsite_{kind}",
        user_id=message.get("userId"),
        anonymous_id=message.get("anonymousId"),
        product_ids=recommended or tuple(_products(data)),
        recommendation_id=data.get("recommendationId") if recommended else None,
        recommended=recommended,
    )


def _products(data: object) -> Iterator[str]:
    """The products an answer shows, in order (product views: ``id`` beside ``title``)."""
    if isinstance(data, dict):
        if isinstance(data.get("id"), str) and "title" in data:
            yield data["id"]
        for value in data.values():
            yield from _products(value)
    elif isinstance(data, list):
        for value in data:
            yield from _products(value)
