"""Purchased together: co-occurrence of products in orders, learnt one basket at a time.

For products ``a`` and ``b`` over ``N`` baskets: *support* is how many baskets hold both,
*confidence* ``P(b | a)`` is support over the baskets holding ``a``, and *lift* is
confidence over ``P(b)`` (above 1: bought together more than chance). Products go with
``a`` when their support reaches :attr:`Together.min_support` and their lift is above 1,
ranked by confidence, then lift.

>>> t = Together(min_support=2)
>>> for basket in (["tent", "pegs"], ["tent", "pegs", "lamp"], ["lamp"], ["mug"]):
...     t.learn(basket)
>>> [(item, round(conf, 2), round(lift, 2)) for item, conf, lift in t.with_item("tent")]
[('pegs', 1.0, 2.0)]
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Final

MAX_BASKET: Final = 50  # products of one basket that count (a bulk order says little)


class Together:
    """Basket counts, pair counts and the number of baskets."""

    def __init__(self, min_support: int = 2) -> None:
        self.min_support = min_support
        self.baskets = 0
        self.counts: Counter[str] = Counter()
        self.pairs: dict[str, Counter[str]] = {}

    def learn(self, basket: Iterable[str]) -> None:
        """Count one basket (its distinct products)."""
        items = sorted(set(basket))[:MAX_BASKET]
        if not items:
            return
        self.baskets += 1
        self.counts.update(items)
        for a in items:
            others = self.pairs.setdefault(a, Counter())
            others.update(b for b in items if b != a)

    def with_item(self, item: str) -> list[tuple[str, float, float]]:
        """``(product, confidence, lift)`` of what goes with ``item``, best first."""
        count = self.counts.get(item, 0)
        if not count:
            return []
        found = []
        for other, support in self.pairs.get(item, Counter()).items():
            if support < self.min_support:
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
