"""What a template looks up as it renders: the profile's segments and the catalogue's
products, both as they are when the message leaves.

``segments`` lists the ids of the stored segments the profile is a member of, read when the
template first reads it: ``{% if segments contains "vip" %}``.

``catalog`` finds products by id, each read once per message when first asked:
``{{ catalog["507f1f77"].title }}``, or with the ``product`` filter,
``{% assign shoe = event.product_id | product %}{{ shoe.price | money }}``. A product is a
mapping of ``id``, ``title``, ``price`` (the price in force now: the sale price while a sale
is on), ``regular_price`` (the price a sale replaces, else the price), ``on_sale``,
``currency``, ``availability``, ``in_stock``, ``image``, ``link``, ``brand`` and
``category``; an id the catalogue does not have is undefined (``| default:`` for it).

>>> segments = Segments(lambda: ["vip"])
>>> "vip" in segments, list(segments), len(Segments())
(True, ['vip'], 0)
>>> catalog = Catalog(lambda pid: {"id": pid, "title": "Kettle"} if pid == "k1" else None)
>>> catalog["k1"]["title"], "k2" in catalog
('Kettle', False)
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from liquid import RenderContext
from liquid.filter import with_context

from juncture.core import retail
from juncture.store.sql import SqlStore

Product = dict[str, Any]


class Segments(list[str]):
    """A lazy list of segment ids (see the module's docstring)."""

    def __init__(self, fetch: Callable[[], list[str]] | None = None) -> None:
        super().__init__()
        self._fetch = fetch
        self._read = fetch is None

    def _load(self) -> None:
        if not self._read and self._fetch is not None:
            self.extend(self._fetch())
        self._read = True

    def __contains__(self, key: object) -> bool:
        self._load()
        return super().__contains__(key)

    def __iter__(self) -> Iterator[str]:
        self._load()
        return super().__iter__()

    def __len__(self) -> int:
        self._load()
        return super().__len__()

    def __getitem__(self, key: Any) -> Any:
        self._load()
        return super().__getitem__(key)

    def __bool__(self) -> bool:
        return len(self) > 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, list) and list(iter(self)) == list(other)

    __hash__ = None  # a list's: mutable, not hashable


class Catalog(Mapping[str, Product]):
    """Products by id, each fetched once (see the module's docstring)."""

    def __init__(self, fetch: Callable[[str], Product | None] | None = None) -> None:
        self._fetch = fetch
        self._found: dict[str, Product | None] = {}

    def __getitem__(self, product_id: str) -> Product:
        key = str(product_id)
        if self._fetch is None:
            raise KeyError(key)
        if key not in self._found:
            self._found[key] = self._fetch(key)
        found = self._found[key]
        if found is None:
            raise KeyError(key)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(k for k, v in self._found.items() if v is not None)

    def __len__(self) -> int:
        return sum(v is not None for v in self._found.values())


def product_view(p: retail.Product, now: dt.datetime) -> Product:
    """What a template sees of a product at ``now``."""
    price, on_sale = retail.price_at(p, now)
    return {
        "id": p.id, "title": p.title, "price": price,
        "regular_price": p.price if on_sale else price, "on_sale": on_sale,
        "currency": p.currency, "availability": p.availability,
        "in_stock": p.availability in ("in_stock", "preorder", "backorder"),
        "image": p.image_link, "link": p.link, "brand": p.brand, "category": p.category,
    }  # fmt: skip


@with_context
def product(value: object, *, context: RenderContext) -> Any:
    """The ``product`` filter: the catalogue's product of the id ``value``, or undefined."""
    catalog = context.resolve("catalog", default=None)
    if not isinstance(catalog, Mapping) or value is None:
        return context.env.undefined(str(value), token=None)
    found = catalog.get(str(value))
    return found if found is not None else context.env.undefined(str(value), token=None)


def lookups(
    segments: Callable[[], list[str]] | None, catalog: Callable[[str], Product | None] | None
) -> Mapping[str, Any]:
    """The context entries a template looks up through."""
    return {"segments": Segments(segments), "catalog": Catalog(catalog)}


def reader(store: SqlStore, now: Callable[[], dt.datetime]) -> Callable[[str], Mapping[str, Any]]:
    """The lookups of a profile's message on ``store``: its segments (one statement when a
    template reads them) and each product it names (one statement per product)."""

    def of(profile_id: str) -> Mapping[str, Any]:
        def segments() -> list[str]:
            return [segment for segment, _ in store.dashboard.segments_of([profile_id])]

        def find(product_id: str) -> Product | None:
            found = store.catalog.product(product_id)
            return None if found is None else product_view(found, now())

        return lookups(segments, find)

    return of
