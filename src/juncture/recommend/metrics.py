"""Ranking metrics at a cut-off ``k``, for binary relevance (a product the shopper went on
to interact with is relevant).

>>> hit_rate(["a", "b", "c"], {"c"}, 2), hit_rate(["a", "b", "c"], {"c"}, 3)
(0.0, 1.0)
>>> round(ndcg(["a", "b"], {"b"}, 10), 4)  # 1/log2(3) over the ideal 1/log2(2)
0.6309
>>> average_precision(["a", "b", "c"], {"a", "c"}, 10)  # (1/1 + 2/3) / 2
0.8333333333333333
>>> coverage([["a", "b"], ["b", "c"]], 6)
0.5
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Sequence


def hit_rate(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """1 when any of the first ``k`` is relevant, else 0."""
    return float(any(item in relevant for item in ranked[:k]))


def ndcg(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """Discounted cumulative gain of the first ``k`` over the best possible."""
    gain = sum(1.0 / math.log2(n + 2) for n, item in enumerate(ranked[:k]) if item in relevant)
    ideal = sum(1.0 / math.log2(n + 2) for n in range(min(k, len(relevant))))
    return gain / ideal if ideal else 0.0


def average_precision(ranked: Sequence[str], relevant: Collection[str], k: int) -> float:
    """The mean of the precision at each relevant position among the first ``k``, over
    ``min(k, |relevant|)`` (the mean of it over shoppers is MAP@k)."""
    hits, total = 0, 0.0
    for n, item in enumerate(ranked[:k]):
        if item in relevant:
            hits += 1
            total += hits / (n + 1)
    most = min(k, len(relevant))
    return total / most if most else 0.0


def coverage(lists: Iterable[Sequence[str]], catalogue: int) -> float:
    """The share of the catalogue that appears in any list."""
    shown = {item for ranked in lists for item in ranked}
    return len(shown) / catalogue if catalogue else 0.0
