"""Replenishment: the day a consumable the customer buys should run out, as the trait
``replenish_at`` (a date such as ``2026-05-05``, in UTC), which a ``date: replenish_at``
journey trigger turns into ``Date Reached`` on that day.

Each completed order sets it again from the whole order history (:func:`due`), stamped
with the time of the latest order, so that orders reaching Juncture in any order give the
same trait (and a merge sets it from both histories: :func:`refresh`). A product's interval
is the customer's own: the time from their first to their last order of it over the cycles
in between (orders less than ``ProfileConfig.replenish_min`` apart count as one purchase: a
second order the same day is not a cycle). A product bought only once takes the interval
declared for its category (``ProfileConfig.replenish_every``, by category path or a prefix
of it). A product with neither is not a consumable, and without consumables the trait is
left alone (a date that a tracker or a person set stays). The trait names the earliest day
still ahead of the latest order, else the last one that passed (a day gone by starts
nothing).

>>> import datetime as dt
>>> from juncture.core.profile.model import Order, ProfileConfig
>>> day = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)
>>> orders = {
...     "o1": Order(day, 20.0, products=("beans",)),
...     "o2": Order(day + dt.timedelta(days=30), 20.0, products=("beans", "mug")),
... }
>>> due(orders, {}, ProfileConfig(), day + dt.timedelta(days=30)).date().isoformat()
'2026-04-30'
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterable, Mapping
from typing import Any, Final

import msgspec

from juncture.core.profile.model import Order, Profile, ProfileConfig
from juncture.core.profile.properties import product_key, str_or
from juncture.core.profile.step import Step

REPLENISH_TRAIT: Final = "replenish_at"


def due(
    orders: Mapping[str, Order],
    categories: Mapping[str, str],
    config: ProfileConfig,
    after: dt.datetime,
) -> dt.datetime | None:
    """When the first consumable bought in ``orders`` runs out after ``after`` (else when the
    last one ran out); None when no product bought is a consumable. ``categories``: product
    id -> category, for the declared intervals."""
    bought: dict[str, set[dt.datetime]] = {}
    for order in orders.values():
        for pid in order.products:
            bought.setdefault(pid, set()).add(order.at)
    dues = []
    for pid, times in bought.items():
        every = interval(sorted(times), config) or declared(categories.get(pid), config)
        if every is not None:
            dues.append(max(times) + every)
    ahead = [d for d in dues if d > after]
    return min(ahead) if ahead else max(dues, default=None)


def interval(times: list[dt.datetime], config: ProfileConfig) -> dt.timedelta | None:
    """The mean time between purchases at ``times`` (sorted), orders less than
    ``replenish_min`` after the previous one counting as the same purchase; None while they
    span less than that. (Defined so that more orders never take an interval away.)"""
    if len(times) < 2 or times[-1] - times[0] < config.replenish_min:
        return None
    cycles = sum(1 for a, b in itertools.pairwise(times) if b - a >= config.replenish_min)
    return (times[-1] - times[0]) / max(cycles, 1)


def declared(category: str | None, config: ProfileConfig) -> dt.timedelta | None:
    """The interval declared for ``category`` or its longest declared prefix."""
    if category is None or not config.replenish_every:
        return None
    found = [k for k in config.replenish_every if category == k or category.startswith(k)]
    return config.replenish_every[max(found, key=len)] if found else None


def on_order(s: Step, products: Iterable[dict[str, Any]]) -> None:
    """Set :data:`REPLENISH_TRAIT` after the order being reduced (``s.ch["orders"]`` holds it)."""
    profile, ch = s.profile, s.ch
    categories = _categories(profile, products) if s.config.replenish_every else {}
    traits = ch.get("traits", profile.traits)
    trait_at = ch.get("trait_at", profile.trait_at)
    stated = _statement(ch["orders"], categories, s.config, traits, trait_at)
    if stated is not None:
        ch["traits"], ch["trait_at"] = stated


def refresh(profile: Profile, config: ProfileConfig) -> Profile:
    """``profile`` with :data:`REPLENISH_TRAIT` set from its whole order history (after a
    merge joined two of them)."""
    categories = _categories(profile, ()) if config.replenish_every else {}
    stated = _statement(profile.orders, categories, config, profile.traits, profile.trait_at)
    if stated is None:
        return profile
    return msgspec.structs.replace(profile, traits=stated[0], trait_at=stated[1])


def _statement(
    orders: Mapping[str, Order],
    categories: Mapping[str, str],
    config: ProfileConfig,
    traits: dict[str, Any],
    trait_at: dict[str, dt.datetime],
) -> tuple[dict[str, Any], dict[str, dt.datetime]] | None:
    """The traits and their times with the order history's statement of the trait, made at
    the latest order; None when it states nothing new or a later statement stands."""
    if not orders:
        return None
    t = max(order.at for order in orders.values())
    moment = due(orders, categories, config, t)
    if moment is None:
        return None
    day = moment.astimezone(dt.UTC).date().isoformat()
    known = trait_at.get(REPLENISH_TRAIT)
    if (known is not None and known > t) or (traits.get(REPLENISH_TRAIT), known) == (day, t):
        return None
    return {**traits, REPLENISH_TRAIT: day}, {**trait_at, REPLENISH_TRAIT: t}


def _categories(profile: Profile, products: Iterable[dict[str, Any]]) -> dict[str, str]:
    """Product id -> category: from the order's lines, else from what the profile saw."""
    found: dict[str, str] = {}
    for pid, view in profile.products.items():
        if view.category:
            found[pid] = view.category
    for pid, item in profile.cart.items.items():
        if item.category:
            found[pid] = item.category
    for line in products:
        key, category = product_key(line), str_or(line.get("category"), None)
        if key is not None and category is not None:
            found[key] = category
    return found
