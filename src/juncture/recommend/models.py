"""The trained models of the five kinds, and how they stay current between trainings.

:func:`train` builds every model from an interaction log and the products known.
Best-sellers, trending and purchased-together then keep learning as events arrive
(:meth:`Models.learn`, one batch of new interactions at a time: an order's products are one
basket, a cart grows with each add); people-like-you folds each shopper's latest history
in at answer time; similar and related change only with the catalogue, at the next
training. :mod:`juncture.recommend.persist` keeps them across restarts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from juncture.recommend.collaborative import DEFAULT, Factors, PeopleLikeYou
from juncture.recommend.embeddings import TFIDF
from juncture.recommend.interactions import Interaction, Item
from juncture.recommend.popularity import Popularity
from juncture.recommend.related import Related
from juncture.recommend.similar import Similar
from juncture.recommend.together import Carts, Together


@dataclass
class Models:
    """One training's models, over ``items``."""

    items: dict[str, Item]
    popularity: Popularity
    together: Together
    people: PeopleLikeYou
    similar: Similar
    related: Related
    interactions: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    carts: Carts = field(default_factory=Carts)

    def learn(self, batch: Sequence[Interaction]) -> None:
        """New interactions since training: popularity, orders and carts learn them."""
        for i in batch:  # a product first seen since training is known bare until the next
            if i.item not in self.items:
                self.items[i.item] = Item(i.item, category=i.category)
        batch = with_categories(batch, self.items)
        self.popularity.learn_all(batch)
        learn_baskets(self.together, self.carts, batch)
        self.interactions += len(batch)

    def summary(self) -> dict[str, int]:
        return {
            "interactions": self.interactions,
            "products": len(self.items),
            "shoppers": self.counts.get("shoppers", 0),
            "baskets": round(self.together.baskets),
            "factorised_products": len(self.people.items),
        }


def train(
    interactions: Sequence[Interaction],
    items: Mapping[str, Item],
    factors: Factors = DEFAULT,
    min_support: int = 2,
    *,
    similar: str = TFIDF,
) -> Models:
    """Every model from ``interactions`` (in time order) and the products ``items``
    (products the interactions name but ``items`` lacks are added bare); ``similar``: how
    similar products are compared (:data:`~juncture.recommend.embeddings.WAYS`)."""
    known = dict(items)
    for i in interactions:
        if i.item not in known:
            known[i.item] = Item(i.item, category=i.category)
    log = with_categories(interactions, known)
    popularity = Popularity()
    popularity.learn_all(log)
    together, carts = Together(min_support), Carts()
    learn_baskets(together, carts, log)
    listed = [known[k] for k in sorted(known)]
    models = Models(
        items=known,
        popularity=popularity,
        together=together,
        people=PeopleLikeYou(log, factors),
        similar=Similar(listed, similar),
        related=Related(known),
        interactions=len(log),
        carts=carts,
    )
    models.counts["shoppers"] = len({i.user for i in log})
    return models


def with_categories(log: Iterable[Interaction], items: Mapping[str, Item]) -> list[Interaction]:
    """The interactions, each with its product's category from the catalogue when it has
    one (an event that named only the product still counts in its category)."""
    found = []
    for i in log:
        item = items.get(i.item)
        if item is not None and item.category and item.category != i.category:
            found.append(dataclasses.replace(i, category=item.category))
        else:
            found.append(i)
    return found


def learn_baskets(together: Together, carts: Carts, log: Sequence[Interaction]) -> None:
    """Orders and carts in ``log`` (in time order) into ``together``: each cart add as it
    comes, each order whole; an order closes its shopper's carts."""
    for i in log:
        if i.action == "cart":
            carts.add(together, i.user, i.basket or "", i.item, i.at)
        elif i.action == "order":
            carts.close(i.user)
    for basket in baskets(log):
        together.learn(basket)


def baskets(log: Iterable[Interaction]) -> list[list[str]]:
    """The products of each order, in the order the orders came."""
    found: dict[tuple[str, str], list[str]] = {}
    for i in log:
        if i.action == "order" and i.basket is not None:
            found.setdefault((i.user, i.basket), []).append(i.item)
    return list(found.values())


def history(log: Iterable[Interaction], before: dt.datetime | None = None) -> dict[str, float]:
    """One shopper's products with their summed weights (up to ``before``)."""
    found: dict[str, float] = {}
    for i in log:
        if before is None or i.at < before:
            found[i.item] = found.get(i.item, 0.0) + i.weight
    return found
