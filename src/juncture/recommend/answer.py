"""Answering one request from the trained models: each kind's candidates with their
reasons, then the filters (:mod:`juncture.recommend.filters`).

A shopper who refused personalisation (``Ask.personal`` False) gets what anyone would:
people-like-you answers best-sellers, and the product kinds answer only about the product
asked. People-like-you for a shopper with no history it can use answers best-sellers too,
each of those products marked with the kind that found it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Final

from juncture.recommend import base
from juncture.recommend.base import Ask, Pick
from juncture.recommend.filters import Filters, apply
from juncture.recommend.models import Models
from juncture.recommend.popularity import category_scope
from juncture.recommend.related import MERCHANT

WIDER: Final = 5  # candidates asked per product wanted, so that filters leave enough


def answer(models: Models, ask: Ask, filters: Filters, now: dt.datetime) -> list[Pick]:
    """The products to show for ``ask``, best first, at most ``ask.n``."""
    want = ask.n * WIDER + len(filters.exclude)
    picks = apply(candidates(models, ask, want, now), models.items, filters, ask.n)
    if ask.kind == base.SIMILAR and picks:  # the shared words, only for what is shown
        anchor = ask.anchors()[0]
        return [replace(p, reason=_similar(models, anchor, p.product_id)) for p in picks]
    return picks


def candidates(models: Models, ask: Ask, want: int, now: dt.datetime) -> list[Pick]:
    kind = ask.kind
    if kind == base.PEOPLE_LIKE_YOU:
        found = _people(models, ask, want) if ask.personal else []
        return found + _popular(models, ask, want, now, base.BEST_SELLERS)
    if kind in (base.BEST_SELLERS, base.TRENDING):
        return _popular(models, ask, want, now, kind)
    anchors = ask.anchors()
    if kind == base.BOUGHT_TOGETHER:
        return [
            Pick(p, kind, score, f"bought with {_title(models, because)}")
            for p, score, because in models.together.with_items(anchors)[:want]
        ]
    if not anchors:
        return []
    anchor = anchors[0]
    if kind == base.SIMILAR:
        return [Pick(p, kind, score, "") for p, score in models.similar.nearest(anchor, want)]
    return [
        Pick(p, kind, score, _related_reason(models, anchor, why))
        for p, score, why in models.related.of(anchor, want)
    ]


def _people(models: Models, ask: Ask, want: int) -> list[Pick]:
    return [
        Pick(p, base.PEOPLE_LIKE_YOU, score, f"shoppers who liked {_title(models, b)} chose it")
        for p, score, b in models.people.recommend(ask.history, want)
    ]


def _popular(models: Models, ask: Ask, want: int, now: dt.datetime, kind: str) -> list[Pick]:
    """Best-sellers or trending in the narrowest scope asked: the category (asked, or the
    product's), else the store, else overall."""
    category = ask.category
    if category is None and ask.product in models.items:
        category = models.items[ask.product].category
    scopes = []
    if category:
        scopes.append((category_scope(category.strip()), f"in {_last(category)}"))
    if ask.store:
        scopes.append(("store:" + ask.store, f"at store {ask.store}"))
    scopes.append(("", "now"))
    read = models.popularity.trending if kind == base.TRENDING else models.popularity.best
    word = "trending" if kind == base.TRENDING else "popular"
    for scope, where in scopes:
        found = read(now, want, scope)
        if found:
            return [Pick(p, kind, score, f"{word} {where}") for p, score in found]
    return []


def _similar(models: Models, anchor: str, product: str) -> str:
    words = models.similar.shared(anchor, product)
    return f"similar to {_title(models, anchor)}: {', '.join(words)}"


def _related_reason(models: Models, anchor: str, why: str) -> str:
    if why == MERCHANT:
        return f"goes with {_title(models, anchor)}"
    return f"also in {why}"


def _title(models: Models, product: str) -> str:
    item = models.items.get(product)
    return item.title if item is not None and item.title else product


def _last(category: str) -> str:
    return category.rsplit(">", 1)[-1].strip()
