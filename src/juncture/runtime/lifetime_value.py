"""Predicted lifetime value on the profiles: fit, predict, and store each customer's figures
as the trait ``clv`` (see ``analytics/clv.Scores.trait``), where segments
(``trait: clv.p_alive``), journey conditions and templates read them.

The traits are written as the engine writes a profile: in a writer's transaction (the
server's group committer, or a writer of its own beside it), loading each profile through
the engine's state and saving it back, so the engine's cache and a concurrent event never
lose the write or each other's. Profiles are written ``chunk`` at a time, so on SQLite a
large base does not hold the writer's lock for long.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Final

import msgspec

from juncture.analytics import clv
from juncture.core.events import Event
from juncture.runtime.unit_of_work import Processor
from juncture.store.customer_orders import CustomerOrders
from juncture.store.state import StateSql

TRAIT: Final = "clv"
CHUNK: Final = 1000

Run = Callable[[Processor], object]  # runs a processor in a writer's transaction


def refresh(
    orders: CustomerOrders,
    run: Run,
    now: dt.datetime,
    horizon_days: float = 365.0,
    discount: float = 0.0,
    *,
    write: bool = True,
) -> clv.Scores:
    """Fit the models to every customer's orders and, with ``write``, store each customer's
    ``clv`` trait. Raises ``errors.Conflict`` (``not_enough_data``) when the base cannot
    identify the models (no repeat purchase yet, say)."""
    scores = clv.score(orders.histories(), now, horizon_days, discount)
    if write:
        store_traits(run, scores, now)
    return scores


def store_traits(run: Run, scores: clv.Scores, now: dt.datetime, chunk: int = CHUNK) -> int:
    """Write the ``clv`` trait of every scored profile; returns how many were written (a
    profile erased or merged away since it was read is skipped)."""
    written = 0
    ids = scores.profile_ids
    for start in range(0, len(ids), chunk):
        traits = {ids[i]: scores.trait(i, now) for i in range(start, min(start + chunk, len(ids)))}
        done: list[int] = []
        run(_writer(traits, now, done))
        written += sum(done)
    return written


def _writer(traits: dict[str, dict[str, object]], now: dt.datetime, done: list[int]) -> Processor:
    def process(state: StateSql, events: list[Event]) -> list[Event]:
        graph, known = state.load((), (), list(traits))
        live = {
            pid: msgspec.structs.replace(
                p,
                traits={**p.traits, TRAIT: traits[pid]},
                trait_at={**p.trait_at, TRAIT: now},
            )
            for pid, p in known.items()
            if pid in traits
        }
        state.save_profiles(live, {}, graph, now)
        done.append(len(live))
        return events

    return process
