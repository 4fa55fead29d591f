"""Interaction logs to evaluate the recommenders on: the simulated retailer's shoppers (the
same simulation the demo runs, in event time, no database) and the public MovieLens log
(:mod:`juncture.recommend.movielens`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any, Final

from juncture.recommend import movielens
from juncture.recommend.interactions import Interaction, Item, from_track
from juncture.sim.simulation import SimConfig, Simulation

START: Final = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
STEP: Final = dt.timedelta(hours=6)


def simulated(
    customers: int, days: int, seed: int = 1
) -> tuple[list[Interaction], dict[str, Item]]:
    """The interactions of a simulated run and its catalogue's products."""
    sim = Simulation(SimConfig(start=START, seed=seed, customers=customers, days=days))
    log: list[Interaction] = []
    for batch in sim.iter_batches(STEP):
        log += from_messages(batch)
    items = {
        p.product_id: Item(
            p.product_id, p.name, p.description, p.category, p.brand, p.price
        )
        for p in sim.catalog.products
    }  # fmt: skip
    return log, items


def from_messages(messages: Iterable[Mapping[str, Any]]) -> list[Interaction]:
    """Segment track messages as interactions, by their user id, else anonymous id."""
    found: list[Interaction] = []
    for m in messages:
        who = m.get("userId") or m.get("anonymousId")
        props = m.get("properties")
        if m.get("type") != "track" or not isinstance(who, str) or not isinstance(props, dict):
            continue
        at = dt.datetime.fromisoformat(str(m["timestamp"]).replace("Z", "+00:00"))
        found += from_track(who, m.get("event"), props, at)
    return found


def dataset(name: str, customers: int, days: int) -> tuple[list[Interaction], dict[str, Item]]:
    """``simulated`` or ``movielens``."""
    if name == "movielens":
        return movielens.load()
    return simulated(customers, days)
