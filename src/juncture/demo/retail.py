"""The demo retailer's tables, and what its pages ask Juncture while the shoppers shop.

:func:`load_tables` imports the simulated catalogue and programmes
(:mod:`juncture.sim.feeds`) through the import path of ``juncture catalog import``;
:func:`change_tables` imports a day's delta (stock out and back, prices dropping), whose
changes become events for the shoppers who care (wish-listed, viewed, carted).

The pages that ask for the touchpoints are :mod:`juncture.demo.pages`; what the retailer's
systems do for the shoppers (orders, bookings, registrations, redemptions) is
:mod:`juncture.demo.errands`.

Recommendations are split in two arms by profile (:func:`arm`): the personalised kinds, or
best-sellers only (the holdout), on the pages and in messages (:class:`MessageShelf`).
"""

from __future__ import annotations

import io
from typing import Any, Final

from juncture import wiring
from juncture.channels.shelf import DEFAULT, Shelf
from juncture.core.journeys.machine import bucket
from juncture.recommend.base import BEST_SELLERS, KINDS, PEOPLE_LIKE_YOU, Ask
from juncture.runtime.catalog_events import Announcer
from juncture.runtime.catalog_import import import_feed
from juncture.runtime.clock import Clock
from juncture.runtime.recommend import Recommendations
from juncture.runtime.recommend_slots import SHOWN, items
from juncture.sim import Simulation, feeds

HOLDOUT: Final = 0.5  # the share of profiles whose recommendations are best-sellers only
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
