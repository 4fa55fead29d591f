"""What shoppers did with products, as the recommenders learn it: one :class:`Interaction`
per product in a Segment e-commerce event (a view, a click, a wish-list add, a cart add, a
product of a completed order), and what is known of each product (:class:`Item`): from the
retailer's tables when it is there, else from what the events said about it.

>>> import datetime as dt
>>> at = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
>>> props = {"order_id": "o1", "products": [{"product_id": "a"}, {"sku": "b"}]}
>>> [(i.item, i.action, i.basket) for i in from_track("u1", "Order Completed", props, at)]
[('a', 'order', 'o1'), ('b', 'order', 'o1')]
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from juncture.core import retail
from juncture.core.profile.properties import id_text, number, product_key

# The Segment e-commerce events a recommender learns from, and what each says.
ACTIONS: Final = {
    "Product Viewed": "view",
    "Product Clicked": "click",
    "Product Added to Wishlist": "wish",
    "Product Added": "cart",
    "Order Completed": "order",
}
# How much each action says about a shopper's taste (implicit feedback: a purchase says more
# than a look).
WEIGHTS: Final = {"view": 1.0, "click": 1.0, "wish": 2.0, "cart": 3.0, "order": 5.0}


@dataclass(frozen=True, slots=True)
class Interaction:
    """``user`` did ``action`` with product ``item`` at ``at``; ``basket`` groups the
    products of one order (its ``order_id``) or cart (a cart add's ``cart_id``); ``store``
    is the location it happened in, when said."""

    user: str
    item: str
    action: str
    at: dt.datetime
    basket: str | None = None
    store: str | None = None
    category: str | None = None

    @property
    def weight(self) -> float:
        return WEIGHTS[self.action]


@dataclass(frozen=True, slots=True)
class Item:
    """What the recommenders know of a product: its text, category path, brand, price and
    whether it can be had (``sellable``), and the merchant's own related lists."""

    id: str
    title: str = ""
    description: str = ""
    category: str | None = None
    brand: str | None = None
    price: float | None = None
    sellable: bool = True
    specs: str = ""
    attributes: tuple[tuple[str, str], ...] = ()
    related: tuple[str, ...] = ()

    @property
    def text(self) -> str:
        """The text similarity is computed over: title, brand, category, description, specs."""
        parts = (self.title, self.brand or "", (self.category or "").replace(">", " "))
        return " ".join((*parts, self.description, self.specs))


def from_track(
    user: str, event: str | None, props: Mapping[str, Any], at: dt.datetime
) -> list[Interaction]:
    """The interactions of one track call (none for an event the recommenders ignore)."""
    action = ACTIONS.get(event or "")
    if action is None:
        return []
    store = id_text(props.get("store_code") or props.get("store_id"))
    if action != "order":
        item = product_key(dict(props))
        category = props.get("category")
        cat = category if isinstance(category, str) else None
        cart = id_text(props.get("cart_id")) if action == "cart" else None
        return [] if item is None else [Interaction(user, item, action, at, cart, store, cat)]
    basket = id_text(props.get("order_id") or props.get("checkout_id"))
    products = props.get("products")
    found = []
    for product in products if isinstance(products, list) else []:
        item = product_key(product) if isinstance(product, dict) else None
        if item is not None:
            category = product.get("category")
            cat = category if isinstance(category, str) else None
            found.append(Interaction(user, item, action, at, basket, store, cat))
    return found


def item_from_product(product: retail.Product, now: dt.datetime) -> Item:
    """A catalogue product as the recommenders see it."""
    specs = " ".join(f"{d.name} {d.value}" for d in product.details)
    attributes = tuple(
        (name, value)
        for name, value in (
            ("color", product.color), ("material", product.material),
            ("gender", product.gender), ("age_group", product.age_group),
        )
        if value
    )  # fmt: skip
    return Item(
        id=product.id,
        title=product.title,
        description=product.description or "",
        category=product.category,
        brand=product.brand,
        price=retail.price_at(product, now)[0],
        sellable=product.availability != "out_of_stock",
        specs=specs,
        attributes=attributes,
        related=tuple(r.product_id for r in product.related),
    )


def items_from_events(seen: Iterable[tuple[str | None, Mapping[str, Any]]]) -> dict[str, Item]:
    """Products as the events described them (name, category, brand, price; the latest
    description wins), for products the retailer's tables do not hold."""
    found: dict[str, Item] = {}
    for event, props in seen:
        for product in _products(event, props):
            item = product_key(dict(product))
            if item is None:
                continue
            name, category, brand = (product.get(k) for k in ("name", "category", "brand"))
            found[item] = Item(
                item,
                title=name if isinstance(name, str) else "",
                category=category if isinstance(category, str) else None,
                brand=brand if isinstance(brand, str) else None,
                price=number(product.get("price")),
            )
    return found


def _products(event: str | None, props: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    if event == "Order Completed":
        products = props.get("products")
        return [p for p in products if isinstance(p, dict)] if isinstance(products, list) else []
    return [props] if event in ACTIONS else []
