"""Offline evaluation: a temporal split of an interaction log, every kind trained on the
past and asked for each shopper's top ``k``, scored against what they went on to do.

The split is by time: interactions before the cut (the ``1 - test`` quantile of their
times) train, the rest test. A shopper counts when they have interactions on both sides;
their *relevant* products are those of the test period they had not touched before (what
the recommender could have told them about). Each kind is asked as a shopper would ask it,
with their training history, the products it already holds left out; the product kinds
answer about the shopper's latest product before the cut. *popularity* is the baseline:
overall best-sellers at the cut, with the same products left out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from juncture.recommend import base, metrics
from juncture.recommend.answer import answer
from juncture.recommend.base import Ask
from juncture.recommend.collaborative import DEFAULT, Factors
from juncture.recommend.embeddings import TFIDF
from juncture.recommend.filters import Filters
from juncture.recommend.interactions import Interaction, Item
from juncture.recommend.models import Models, history, train

K: Final = 10
BASELINE: Final = "popularity"


@dataclass(frozen=True, slots=True)
class Score:
    """One kind's figures over ``shoppers`` (means; coverage over the catalogue)."""

    kind: str
    shoppers: int
    hit_rate: float
    ndcg: float
    map: float
    coverage: float


@dataclass(frozen=True, slots=True)
class Split:
    train: list[Interaction]
    test: list[Interaction]
    cut: dt.datetime


def split(log: Sequence[Interaction], test: float = 0.2) -> Split:
    """The log cut at the ``1 - test`` quantile of its times."""
    ordered = sorted(log, key=lambda i: i.at)
    if not ordered:
        raise ValueError("the interaction log is empty")
    cut = ordered[min(len(ordered) - 1, int(len(ordered) * (1 - test)))].at
    return Split([i for i in ordered if i.at < cut], [i for i in ordered if i.at >= cut], cut)


def evaluate(
    log: Sequence[Interaction],
    items: dict[str, Item],
    kinds: Sequence[str] = base.KINDS,
    test: float = 0.2,
    factors: Factors = DEFAULT,
    *,
    similar: str = TFIDF,
) -> list[Score]:
    """Each kind's score, then the popularity baseline's, at :data:`K` (``similar``: how
    similar products are compared)."""
    parts = split(log, test)
    models = train(parts.train, items, factors, similar=similar)
    past = _by_user(parts.train)
    future = _by_user(parts.test)
    shoppers = []
    for user, later in sorted(future.items()):
        seen = past.get(user)
        if not seen:
            continue
        had = history(seen)
        relevant = {i.item for i in later} - had.keys()
        if relevant:
            shoppers.append((user, seen, had, relevant))
    scores = [_score(models, kind, shoppers, parts.cut) for kind in kinds]
    return [*scores, _score(models, BASELINE, shoppers, parts.cut)]


Shopper = tuple[str, list[Interaction], dict[str, float], set[str]]


def _score(models: Models, kind: str, shoppers: Sequence[Shopper], cut: dt.datetime) -> Score:
    lists, hits, gains, precisions = [], 0.0, 0.0, 0.0
    for _, seen, had, relevant in shoppers:
        latest = max(seen, key=lambda i: i.at).item
        asked = base.BEST_SELLERS if kind == BASELINE else kind
        ask = Ask(asked, K, history=had, recent=(latest,), product=_anchor(kind, latest))
        ranked = [p.product_id for p in answer(models, ask, Filters(exclude=had.keys()), cut)]
        lists.append(ranked)
        hits += metrics.hit_rate(ranked, relevant, K)
        gains += metrics.ndcg(ranked, relevant, K)
        precisions += metrics.average_precision(ranked, relevant, K)
    n = len(shoppers) or 1
    cover = metrics.coverage(lists, len(models.items))
    return Score(kind, len(shoppers), hits / n, gains / n, precisions / n, cover)


def _anchor(kind: str, latest: str) -> str | None:
    """The product kinds answer about the latest product; best-sellers stay overall."""
    return latest if kind in base.ABOUT_PRODUCT else None


def _by_user(log: Iterable[Interaction]) -> dict[str, list[Interaction]]:
    found: dict[str, list[Interaction]] = {}
    for i in log:
        found.setdefault(i.user, []).append(i)
    return found


def table(scores: Sequence[Score]) -> str:
    """The scores as a Markdown table."""
    lines = [
        f"| kind | shoppers | hit rate@{K} | NDCG@{K} | MAP@{K} | coverage |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    lines += [
        f"| {s.kind} | {s.shoppers} | {s.hit_rate:.3f} | {s.ndcg:.3f} | {s.map:.3f} | "
        f"{s.coverage:.3f} |"
        for s in scores
    ]
    return "\n".join(lines)
