"""The vocabulary of recommendations: the kinds, what is asked (:class:`Ask`) and what is
answered per product (:class:`Pick`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Final

BEST_SELLERS: Final = "best_sellers"
TRENDING: Final = "trending"
PEOPLE_LIKE_YOU: Final = "people_like_you"
RELATED: Final = "related"
BOUGHT_TOGETHER: Final = "bought_together"
SIMILAR: Final = "similar"
KINDS: Final = (BEST_SELLERS, TRENDING, PEOPLE_LIKE_YOU, RELATED, BOUGHT_TOGETHER, SIMILAR)
# Kinds that answer about a product: the one asked about, else the cart's or the latest seen.
ABOUT_PRODUCT: Final = frozenset({RELATED, BOUGHT_TOGETHER, SIMILAR})
MOST: Final = 50  # products one answer may hold


@dataclass(frozen=True, slots=True)
class Ask:
    """One request. ``history`` is the shopper's products with their summed weights,
    ``recent`` their latest products (newest first), ``cart`` what is in the cart,
    ``bought`` what they bought lately (left out unless consumable). ``personal`` False:
    the shopper refused personalisation, so none of those is used."""

    kind: str
    n: int = 10
    product: str | None = None
    store: str | None = None
    category: str | None = None
    history: Mapping[str, float] = field(default_factory=dict)
    recent: tuple[str, ...] = ()
    cart: tuple[str, ...] = ()
    bought: tuple[str, ...] = ()
    personal: bool = True
    min_price: float | None = None
    max_price: float | None = None

    def anchors(self) -> tuple[str, ...]:
        """The products a product kind answers about: the one asked, else (personal only)
        the cart, else the latest seen."""
        if self.product is not None:
            return (self.product,)
        if not self.personal:
            return ()
        return self.cart or self.recent[:1]


@dataclass(frozen=True, slots=True)
class Pick:
    """One recommended product: the ``kind`` that found it (people-like-you falls back to
    best-sellers for a shopper it knows nothing of), its score within that kind, and the
    reason in words."""

    product_id: str
    kind: str
    score: float
    reason: str
