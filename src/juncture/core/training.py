"""Where associates need training: demand by store and product line (views, carts and
questions the event log shows in a store, launches of the line) against the associates
there who know the line, with the product and price facts the floor needs.

A product's *line* is its category path cut at :data:`LINE_DEPTH` levels (``Home >
Kitchen``), else its brand. An associate knows a line when a skill is a prefix of it or names
the brand of a product in it (:func:`juncture.core.comparisons.knows`).

>>> from juncture.core.retail import Product
>>> line_of(Product("k1", "Kettle", category="Home > Kitchen > Kettles"))
'Home > Kitchen'
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

from juncture.core import comparisons, offers, retail
from juncture.core.retail_views import product_json

LINE_DEPTH: Final = 2
# How much each sign of demand weighs (a question asks more of the floor than a view).
WEIGHTS: Final = {"views": 1, "carts": 3, "questions": 5, "launches": 10}
NEEDS: Final = 10  # a line with this much demand and nobody who knows it needs training
PER_EXPERT: Final = 200  # or with this much demand per associate who knows it
KINDS: Final = {"Product Viewed": "views", "Product Added": "carts", "Question Asked": "questions"}


def line_of(product: retail.Product) -> str:
    if product.category:
        return " > ".join(p.strip() for p in product.category.split(">")[:LINE_DEPTH])
    return product.brand or "Other"


@dataclass
class Line:
    """Demand for one line in one store."""

    store_code: str
    line: str
    counts: Counter[str] = field(default_factory=Counter)
    products: Counter[str] = field(default_factory=Counter)

    @property
    def score(self) -> int:
        return sum(WEIGHTS[k] * n for k, n in self.counts.items())


def demand(
    rows: Iterable[tuple[str, str, str]],
    products: Mapping[str, retail.Product],
    launches: Sequence[retail.Product],
    stores: Sequence[str],
) -> dict[tuple[str, str], Line]:
    """Demand by (store, line) from ``(event name, product id, store code)`` rows, plus each
    launch counted in every store."""
    found: dict[tuple[str, str], Line] = {}
    for name, pid, store in rows:
        product, kind = products.get(pid), KINDS.get(name)
        if product is None or kind is None:
            continue
        line = found.setdefault((store, line_of(product)), Line(store, line_of(product)))
        line.counts[kind] += 1
        line.products[pid] += 1
    for product in launches:
        for store in stores:
            line = found.setdefault((store, line_of(product)), Line(store, line_of(product)))
            line.counts["launches"] += 1
            line.products[product.id] += 0
    return found


def report(
    lines: Mapping[tuple[str, str], Line],
    products: Mapping[str, retail.Product],
    associates: Sequence[offers.Associate],
    now: dt.datetime,
) -> list[dict[str, Any]]:
    """Each store's lines, most demand first: the counts, who knows the line, whether
    training is needed, and the top products' facts (price in force, spec lines)."""
    out = []
    for line in sorted(lines.values(), key=lambda x: (x.store_code, -x.score, x.line)):
        top = [products[p] for p, _ in line.products.most_common(3) if p in products]
        here = [a for a in associates if a.store_code == line.store_code]
        experts = [a for a in here if any(comparisons.knows(a, p) for p in top)]
        needed = line.score >= NEEDS and (not experts or line.score / len(experts) >= PER_EXPERT)
        out.append({
            "storeCode": line.store_code, "line": line.line, "demand": line.score,
            **{k: line.counts.get(k, 0) for k in WEIGHTS},
            "associates": [{"id": a.associate_id, "name": a.name} for a in experts],
            "trainingNeeded": needed,
            "facts": [_facts(p, now) for p in top],
        })  # fmt: skip
    return out


def _facts(product: retail.Product, now: dt.datetime) -> dict[str, Any]:
    shown = product_json(product, now)
    keep = ("id", "title", "brand", "currentPrice", "onSale", "currency", "availability")
    return {k: shown[k] for k in keep} | {"specs": shown["details"][:5]}
