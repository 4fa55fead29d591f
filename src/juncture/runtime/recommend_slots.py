"""Recommendations where shoppers see them: the on-site slots of ``POST /v1/decide`` and the
``recommendations`` of templates (:class:`~juncture.channels.shelf.Shelf`).

Slots: placement ``product_recommendation`` (the popover: people like you) and
``recs:<kind>`` (a storefront slot of one kind, such as ``recs:similar`` on a product page,
with ``productId`` and ``storeCode`` from the request's body).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Final

from juncture.channels.shelf import DEFAULT, Shelf
from juncture.core.profile.model import Profile
from juncture.recommend.base import KINDS, PEOPLE_LIKE_YOU, Ask
from juncture.runtime.recommend import Recommendations, Result, Shopper, judge

POPOVER: Final = "product_recommendation"
SLOT: Final = "recs:"
SHOWN: Final = 4  # products a slot or a template list holds unless it says


def slot_kind(placement: str) -> str | None:
    """The kind a placement asks for, or None when it is no recommendation slot."""
    if placement == POPOVER:
        return PEOPLE_LIKE_YOU
    if placement.startswith(SLOT) and placement[len(SLOT) :] in KINDS:
        return placement[len(SLOT) :]
    return None


def items(result: Result) -> list[dict[str, Any]]:
    """A result's products as templates and the decide API show them."""
    return [
        {
            "product_id": p.product_id,
            "name": result.items[p.product_id].title or p.product_id,
            "price": result.items[p.product_id].price,
            "brand": result.items[p.product_id].brand,
            "category": result.items[p.product_id].category,
            "kind": p.kind,
            "reason": p.reason,
            "recommendation_id": result.recommendation_id,
        }
        for p in result.picks
    ]


def shelf(
    recs: Recommendations,
    who: Callable[[], Shopper],
    product: str | None = None,
    store: str | None = None,
    default: str = PEOPLE_LIKE_YOU,
) -> Shelf:
    """What a template reads as ``recommendations``: lists fetched only when read (unknown
    kinds are empty); ``who`` is asked for the shopper once, at the first list read."""
    known: list[Shopper] = []

    def fetch(kind: str) -> list[dict[str, Any]]:
        kind = default if kind == DEFAULT else kind
        if kind not in KINDS:
            return []
        if not known:
            known.append(who())
        return items(recs.recommend(Ask(kind, 10, product, store), known[0]))

    return Shelf(fetch)


def count(recs: Callable[[], Recommendations], profile: Profile, kind: str) -> int:
    """How many products of ``kind`` a journey condition finds for ``profile`` (the profile
    as the engine's step has it): what a message's template would list, ten at most. None
    before the first training: it is never trained here, inside the engine's transaction
    (a training saves its models: on SQLite it would wait for that very transaction)."""
    found = recs()
    if found.models is None and not found.restore():
        return 0
    return len(found.recommend(Ask(kind, 10), judge(profile)).picks)


def for_profile(recs: Recommendations, profile_id: str) -> Shelf:
    """The shelf of a message's recipient (read when the template reads it)."""
    return shelf(recs, lambda: recs.profile(profile_id))


def slot(
    recs: Recommendations,
    kind: str,
    product: str | None,
    store: str | None,
    profile: Profile | None,
) -> tuple[dict[str, Any], Shelf] | str:
    """A slot's answer: the data shown (the ``recommendationId``, the kind, the products) and
    the shelf the template lists; or why nothing (``nothing_to_recommend``)."""
    result = recs.recommend(Ask(kind, SHOWN, product, store), judge(profile))
    if not result.picks:
        return "nothing_to_recommend"
    found = items(result)
    data = {"recommendationId": result.recommendation_id, "kind": kind, "products": found}
    return data, Shelf(lambda _: found)
