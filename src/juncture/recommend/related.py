"""Related products: the merchant's own lists (the product feed's related and accessory
lists), else neighbours in the category tree scored by shared attributes.

The fallback walks up the product's category path (its own category first, then the parent,
and so on) and, within a level, ranks products by the attributes they share with it (brand,
colour, material, gender, age group) and by how close their price is.

>>> from juncture.recommend.interactions import Item
>>> items = {i.id: i for i in (
...     Item("shoe", category="Sports > Running > Shoes", brand="Fleet"),
...     Item("sock", category="Sports > Running > Socks", brand="Fleet"),
...     Item("shoe2", category="Sports > Running > Shoes", brand="Other"),
...     Item("ball", category="Sports > Football > Balls"))}
>>> [(p, why) for p, _, why in Related(items).of("shoe", 3)]
[('shoe2', 'Shoes'), ('sock', 'Running'), ('ball', 'Sports')]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from juncture.recommend.interactions import Item

MERCHANT: Final = "merchant"  # the reason's word for the merchant's own list


class Related:
    """Related products over one set of items, with an index by category path."""

    def __init__(self, items: Mapping[str, Item]) -> None:
        self.items = items
        self.by_path: dict[str, list[str]] = {}
        for item in items.values():
            for path in _paths(item.category):
                self.by_path.setdefault(path, []).append(item.id)

    def of(self, product: str, n: int) -> list[tuple[str, float, str]]:
        """``(product, score, why)``: ``why`` is :data:`MERCHANT` for the merchant's list,
        else the name of the category level they share."""
        item = self.items.get(product)
        if item is None:
            return []
        found = [(r, 1.0, MERCHANT) for r in item.related if r != product][:n]
        taken = {product, *(r for r, _, _ in found)}
        for path in reversed(_paths(item.category)):
            if len(found) >= n:
                break
            level = [p for p in self.by_path.get(path, ()) if p not in taken]
            level.sort(key=lambda p: (-self._alike(item, self.items[p]), p))
            name = path.rsplit(">", 1)[-1].strip()
            for p in level[: n - len(found)]:
                found.append((p, self._alike(item, self.items[p]), name))
                taken.add(p)
        return found

    @staticmethod
    def _alike(a: Item, b: Item) -> float:
        """Shared attributes (brand, colour, ...) and closeness of price, in [0, 1]."""
        shared = float(a.brand is not None and a.brand == b.brand)
        theirs = dict(b.attributes)
        shared += sum(1.0 for k, v in a.attributes if theirs.get(k) == v)
        price = 0.0
        if a.price and b.price:
            price = min(a.price, b.price) / max(a.price, b.price)
        return (shared + price) / (2 + len(a.attributes))


def _paths(category: str | None) -> list[str]:
    """Each level of a category path, the top first (``A``, ``A > B``, ``A > B > C``)."""
    if not category:
        return []
    parts = [p.strip() for p in category.split(">") if p.strip()]
    return [" > ".join(parts[: n + 1]) for n in range(len(parts))]
