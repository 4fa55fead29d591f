"""Best-sellers and trending: time-decayed popularity, learnt one interaction at a time.

Each interaction adds its weight (:data:`~juncture.recommend.interactions.WEIGHTS`) to its
product's score in every scope it belongs to: overall (``""``), its category path and each
parent of it (``category:Sports``, ``category:Sports > Running``), and its store
(``store:nyc``). Scores decay exponentially: a score learnt ``h`` (the half-life) ago counts
half. *Best-sellers* rank by the long-term score (:data:`LONG`). *Trending* ranks by growth
against the product's own baseline: the short-term rate (:data:`SHORT`) over the long-term
rate, both per day, smoothed by :data:`PRIOR` events a day so that a product seen twice for
the first time does not outrank a steady seller rising by half.

The decayed sums are kept scaled to a fixed anchor (``w * 2**((t - anchor) / h)``) so that
learning is one addition; reading at ``now`` multiplies by ``2**(-(now - anchor) / h)``. The
anchor moves forward before the scale could overflow a float.

>>> import datetime as dt
>>> from juncture.recommend.interactions import Interaction
>>> day = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
>>> pop = Popularity()
>>> for n in range(3):
...     pop.learn(Interaction("u", "old", "order", day))
>>> pop.learn(Interaction("u", "new", "view", day + dt.timedelta(days=30)))
>>> [item for item, _ in pop.best(day + dt.timedelta(days=30), 2)]
['old', 'new']
>>> [item for item, _ in pop.trending(day + dt.timedelta(days=30), 2)]
['new']
"""

from __future__ import annotations

import datetime as dt
import heapq
import math
from collections.abc import Iterable
from typing import Final

import numpy as np

from juncture.recommend.interactions import Interaction
from juncture.recommend.memo import memo_of

LONG: Final = dt.timedelta(days=14)  # the baseline's half-life (best-sellers)
SHORT: Final = dt.timedelta(days=1)  # the recent rate's half-life (trending)
PRIOR: Final = 0.5  # events a day added to both rates: growth from almost nothing is noise
_MAX_EXPONENT: Final = 500.0  # 2**500 is far from a float's limit; move the anchor past it
_DAY: Final = 86400.0
_BATCH: Final = 2000  # interactions from which learn_all sums with numpy
_KEPT: Final = 256  # best-sellers kept per scope between learnings


class _Decayed:
    """Exponentially decayed sums per key, with one half-life."""

    def __init__(self, half_life: dt.timedelta, anchor: dt.datetime) -> None:
        self.half = half_life.total_seconds()
        self.anchor = anchor
        self.sums: dict[str, float] = {}

    def add(self, key: str, weight: float, at: dt.datetime) -> None:
        exponent = (at - self.anchor).total_seconds() / self.half
        if exponent > _MAX_EXPONENT:
            self.move(at)
            exponent = 0.0
        self.sums[key] = self.sums.get(key, 0.0) + weight * 2.0**exponent

    def move(self, anchor: dt.datetime) -> None:
        """Rescale every sum to a new anchor (later than the old one)."""
        scale = 2.0 ** (-(anchor - self.anchor).total_seconds() / self.half)
        self.sums = {k: v * scale for k, v in self.sums.items() if v * scale > 1e-12}
        self.anchor = anchor

    def factor(self, now: dt.datetime) -> float:
        """What a stored sum is multiplied by to read it at ``now``."""
        return float(2.0 ** (-(now - self.anchor).total_seconds() / self.half))

    def per_day(self, now: dt.datetime) -> float:
        """What turns a sum read at ``now`` into a rate per day (the sum of a steady rate of
        one a day is ``h / ln 2`` days)."""
        return self.factor(now) * math.log(2) * _DAY / self.half


class Popularity:
    """Decayed popularity and trend per scope (overall, category, store)."""

    def __init__(self, anchor: dt.datetime | None = None) -> None:
        self.anchor = anchor
        self.long: dict[str, _Decayed] = {}
        self.short: dict[str, _Decayed] = {}

    def learn(self, interaction: Interaction) -> None:
        """Count one interaction in each scope it belongs to."""
        memo_of(self).clear()
        if self.anchor is None:
            self.anchor = interaction.at
        for scope in scopes(interaction):
            for table, half in ((self.long, LONG), (self.short, SHORT)):
                if scope not in table:
                    table[scope] = _Decayed(half, self.anchor)
                table[scope].add(interaction.item, interaction.weight, interaction.at)

    def learn_all(self, interactions: Iterable[Interaction]) -> None:
        """Count many at once: the same sums as :meth:`learn` one by one (to rounding),
        summed with numpy per scope after each table's anchor moves to the latest time."""
        batch = list(interactions)
        memo_of(self).clear()
        if len(batch) < _BATCH:
            for interaction in batch:
                self.learn(interaction)
            return
        if self.anchor is None:
            self.anchor = batch[0].at
        latest = max(i.at for i in batch)
        rows, names, items, weights, seconds = _expand(batch, latest)
        keys, where = np.unique(rows, return_inverse=True)
        for table, half in ((self.long, LONG), (self.short, SHORT)):
            sums = np.bincount(where, weights=weights * np.exp2(seconds / half.total_seconds()))
            _add(table, half, latest, names=names, items=items, keys=keys, sums=sums)

    def best(self, now: dt.datetime, n: int, scope: str = "") -> list[tuple[str, float]]:
        """The ``n`` products with the highest decayed score in ``scope`` at ``now``."""
        table = self.long.get(scope)
        if table is None:
            return []
        factor = table.factor(now)
        # Decay scales every score alike, so the order changes only when the model learns:
        # the top is kept until then (the longest asked for, the first n of it answered).
        kept = max(n, _KEPT)
        top = memo_of(self).get(("best", scope, kept), lambda: _top(table.sums, kept))
        return [(item, score * factor) for item, score in top[:n]]

    def trending(self, now: dt.datetime, n: int, scope: str = "") -> list[tuple[str, float]]:
        """The ``n`` products whose recent rate grew most against their own baseline."""
        long, short = self.long.get(scope), self.short.get(scope)
        if long is None or short is None:
            return []
        to_long, to_short = long.per_day(now), short.per_day(now)

        def growth(item: str) -> float:
            recent = short.sums.get(item, 0.0) * to_short
            return (recent + PRIOR) / (long.sums[item] * to_long + PRIOR)

        top = heapq.nlargest(n, long.sums, key=growth)
        return [(item, growth(item)) for item in top if growth(item) > 1.0]

    def scopes(self) -> list[str]:
        return sorted(self.long)


def _top(sums: dict[str, float], n: int) -> list[tuple[str, float]]:
    return heapq.nlargest(n, sums.items(), key=lambda kv: kv[1])


def _expand(
    batch: list[Interaction], latest: dt.datetime
) -> tuple[np.ndarray, list[str], list[str], np.ndarray, np.ndarray]:
    """Per (scope, interaction) pair: the pair's key; the scope and product names; each
    interaction's weight and its age before ``latest`` in seconds (negative)."""
    known: dict[tuple[str | None, str | None], list[str]] = {}
    scope_at: dict[str, int] = {}
    item_at: dict[str, int] = {}
    pairs: list[int] = []
    for n, i in enumerate(batch):
        key = (i.category, i.store)
        if key not in known:
            known[key] = scopes(i)
        item = item_at.setdefault(i.item, len(item_at))
        for scope in known[key]:
            pairs += (scope_at.setdefault(scope, len(scope_at)), item, n)
    trio = np.array(pairs, dtype=np.int64).reshape(-1, 3)
    keys = trio[:, 0] * len(item_at) + trio[:, 1]
    weights = np.array([i.weight for i in batch])[trio[:, 2]]
    ages = np.array([(i.at - latest).total_seconds() for i in batch])[trio[:, 2]]
    return keys, list(scope_at), list(item_at), weights, ages


def _add(
    table: dict[str, _Decayed],
    half: dt.timedelta,
    latest: dt.datetime,
    *,
    names: list[str],
    items: list[str],
    keys: np.ndarray,
    sums: np.ndarray,
) -> None:
    """Add the decayed weights summed per (scope, product) key to ``table`` at ``latest``."""
    for key, value in zip(keys.tolist(), sums.tolist(), strict=True):
        scope, item = names[key // len(items)], items[key % len(items)]
        if scope not in table:
            table[scope] = _Decayed(half, latest)
        decayed = table[scope]
        if decayed.anchor != latest:
            decayed.move(latest)
        decayed.sums[item] = decayed.sums.get(item, 0.0) + value


def scopes(interaction: Interaction) -> list[str]:
    """The scopes an interaction counts in: overall, each level of its category, its store."""
    found = [""]
    if interaction.category:
        parts = [p.strip() for p in interaction.category.split(">")]
        found += [category_scope(" > ".join(parts[: n + 1])) for n in range(len(parts))]
    if interaction.store:
        found.append("store:" + interaction.store)
    return found


def category_scope(path: str) -> str:
    return "category:" + path
