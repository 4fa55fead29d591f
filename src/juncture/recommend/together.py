"""Purchased together: co-occurrence of products in orders and in carts, learnt one basket
(or one cart add) at a time.

Each basket counts with a weight: an order 1, a cart :data:`CART_WEIGHT` (a cart says
less: much of what is put in one is never bought). For products ``a`` and ``b``, with
``N`` the baskets' summed weight: *support* is the weight of the baskets holding both,
*confidence* ``P(b | a)`` is support over the weight of the baskets holding ``a``, and
*lift* is confidence over ``P(b)`` (above 1: together more than chance). Products go with
``a`` when their support reaches :attr:`Together.min_support` (two orders, or four carts)
and their lift is above 1, ranked by confidence, then lift.

>>> t = Together(min_support=2)
>>> for basket in (["tent", "pegs"], ["tent", "pegs", "lamp"], ["lamp"], ["mug"]):
...     t.learn(basket)
>>> [(item, round(conf, 2), round(lift, 2)) for item, conf, lift in t.with_item("tent")]
[('pegs', 1.0, 2.0)]

A cart grows one add at a time (:class:`Carts`): each add pairs the product with what the
cart already holds, so the counts are current after every event.

>>> c = Carts()
>>> for product in ("tent", "pegs"):
...     c.add(t, "u1", "c1", product)
>>> round(t.pairs["tent"]["pegs"], 2)
2.5
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Final

MAX_BASKET: Final = 50  # products of one basket that count (a bulk order says little)
CART_WEIGHT: Final = 0.5  # a cart's co-occurrence against an order's 1
CART_GAP: Final = dt.timedelta(days=3)  # a cart left this long is over


class Together:
    """Basket weights per product, pair weights and the baskets' summed weight."""

    def __init__(self, min_support: float = 2) -> None:
        self.min_support = min_support
        self.baskets = 0.0
        self.counts: defaultdict[str, float] = defaultdict(float)
        self.pairs: dict[str, defaultdict[str, float]] = {}

    def learn(self, basket: Iterable[str], weight: float = 1.0) -> None:
        """Count one basket (its distinct products) with ``weight``."""
        items = sorted(set(basket))[:MAX_BASKET]
        if not items:
            return
        self.baskets += weight
        for a in items:
            self.counts[a] += weight
            others = self._others(a)
            for b in items:
                if b != a:
                    others[b] += weight

    def extend(self, held: Sequence[str], item: str, weight: float) -> None:
        """One more product in an open basket that holds ``held`` (distinct, not ``item``)."""
        if not held:
            self.baskets += weight
        self.counts[item] += weight
        mine = self._others(item)
        for b in held:
            mine[b] += weight
            self._others(b)[item] += weight

    def _others(self, item: str) -> defaultdict[str, float]:
        found = self.pairs.get(item)
        if found is None:
            found = self.pairs[item] = defaultdict(float)
        return found

    def with_item(self, item: str) -> list[tuple[str, float, float]]:
        """``(product, confidence, lift)`` of what goes with ``item``, best first."""
        count = self.counts.get(item, 0.0)
        if not count:
            return []
        found = []
        for other, support in self.pairs.get(item, {}).items():
            if support < self.min_support - 1e-9:
                continue
            confidence = support / count
            lift = confidence * self.baskets / self.counts[other]
            if lift > 1.0:
                found.append((other, confidence, lift))
        found.sort(key=lambda x: (-x[1], -x[2], x[0]))
        return found

    def with_items(self, items: Sequence[str]) -> list[tuple[str, float, str]]:
        """What goes with a set of products (a cart): ``(product, score, because)``, the
        score the sum of confidences, ``because`` the product it goes with best."""
        scores: dict[str, float] = {}
        because: dict[str, tuple[float, str]] = {}
        for item in items:
            for other, confidence, _ in self.with_item(item):
                scores[other] = scores.get(other, 0.0) + confidence
                if confidence > because.get(other, (0.0, ""))[0]:
                    because[other] = (confidence, item)
        ranked = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))
        return [(other, score, because[other][1]) for other, score in ranked if other not in items]


class Carts:
    """The open carts (by shopper and ``cart_id``), each a basket of :data:`CART_WEIGHT`
    that grows with each add (a product added twice counts once). A shopper's order closes
    their carts (the order is a basket of its own), and so does :data:`CART_GAP` without an
    add: the next add starts a new cart."""

    def __init__(self) -> None:
        self.open: dict[str, dict[str, tuple[dt.datetime | None, list[str]]]] = {}

    def add(
        self, together: Together, user: str, cart: str, item: str, at: dt.datetime | None = None
    ) -> None:
        mine = self.open.setdefault(user, {})
        last, held = mine.get(cart, (None, []))
        if last is not None and at is not None and at - last > CART_GAP:
            held = []
        mine[cart] = (at, held)
        if item in held or len(held) >= MAX_BASKET:
            return
        together.extend(held, item, CART_WEIGHT)
        held.append(item)

    def close(self, user: str) -> None:
        self.open.pop(user, None)
