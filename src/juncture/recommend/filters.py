"""What every kind's answer goes through: stock, what the shopper just bought, the price
band, the merchant's boost and bury rules, and diversity (at most N per brand).

Rules are written ``what:value=factor`` and separated by commas, ``what`` one of
``product``, ``brand`` or ``category`` (a prefix of the category path): a factor above 1
boosts, below 1 buries, 0 removes.

>>> [(r.what, r.value, r.factor) for r in parse_rules("brand:Acme=2, category:Sports=0.5")]
[('brand', 'Acme', 2.0), ('category', 'Sports', 0.5)]
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Final

from juncture.recommend.base import Pick
from juncture.recommend.interactions import Item

RULE_KINDS: Final = ("product", "brand", "category")


@dataclass(frozen=True, slots=True)
class Rule:
    what: str
    value: str
    factor: float

    def matches(self, item: Item) -> bool:
        if self.what == "product":
            return item.id == self.value
        if self.what == "brand":
            return (item.brand or "").lower() == self.value.lower()
        return (item.category or "").lower().startswith(self.value.lower())


def parse_rules(text: str) -> tuple[Rule, ...]:
    """Rules from their written form; ValueError names the one that is wrong."""
    found = []
    for n, part in enumerate(p.strip() for p in text.split(",")):
        if not part:
            continue
        what, _, rest = part.partition(":")
        value, _, factor = rest.rpartition("=")
        try:
            weight = float(factor)
        except ValueError:
            weight = -1.0
        if what not in RULE_KINDS or not value or weight < 0:
            raise ValueError(
                f"rule {n + 1} ({part!r}): write what:value=factor, what one of "
                f"{', '.join(RULE_KINDS)} and factor a number of 0 or more"
            )
        found.append(Rule(what, value.strip(), weight))
    return tuple(found)


@dataclass(frozen=True, slots=True)
class Filters:
    """``exclude``: products never shown (the product asked about, the cart, what was just
    bought); ``stocked``: given candidate ids, those in stock where the shopper is (None:
    the product's own availability counts)."""

    exclude: Collection[str] = frozenset()
    stocked: Callable[[Sequence[str]], Collection[str]] | None = None
    min_price: float | None = None
    max_price: float | None = None
    max_per_brand: int | None = None
    rules: tuple[Rule, ...] = ()


def apply(picks: Sequence[Pick], items: Mapping[str, Item], f: Filters, n: int) -> list[Pick]:
    """The best ``n`` of ``picks`` that pass the filters, rules applied to their scores
    (a product found twice, by a kind and its fallback, counts once: the first)."""
    first: dict[str, Pick] = {}
    for pick in picks:
        first.setdefault(pick.product_id, pick)
    kept = [p for p in first.values() if p.product_id not in f.exclude and _priced(items, p, f)]
    stocked = f.stocked([p.product_id for p in kept]) if f.stocked is not None else None
    kept = [p for p in kept if _available(items, p.product_id, stocked)]
    kept = _ruled(kept, items, f.rules)
    found: list[Pick] = []
    per_brand: dict[str, int] = {}
    for pick in kept:
        brand = (items[pick.product_id].brand or "") if pick.product_id in items else ""
        if brand and f.max_per_brand is not None and per_brand.get(brand, 0) >= f.max_per_brand:
            continue
        per_brand[brand] = per_brand.get(brand, 0) + 1
        found.append(pick)
        if len(found) == n:
            break
    return found


def _available(items: Mapping[str, Item], pid: str, stocked: Collection[str] | None) -> bool:
    if stocked is not None:
        return pid in stocked
    item = items.get(pid)
    return item is None or item.sellable


def _priced(items: Mapping[str, Item], pick: Pick, f: Filters) -> bool:
    if f.min_price is None and f.max_price is None:
        return True
    item = items.get(pick.product_id)
    price = item.price if item is not None else None
    if price is None:
        return False  # a price band asked: a product without a price is not known to fit
    return (f.min_price is None or price >= f.min_price) and (
        f.max_price is None or price <= f.max_price
    )


def _ruled(picks: list[Pick], items: Mapping[str, Item], rules: Sequence[Rule]) -> list[Pick]:
    """Each score times the factors of the rules its product matches; re-ranked (stable
    within each kind's order), removed at 0."""
    if not rules:
        return picks
    found = []
    for order, pick in enumerate(picks):
        item = items.get(pick.product_id, Item(pick.product_id))
        factor = 1.0
        for rule in rules:
            if rule.matches(item):
                factor *= rule.factor
        if factor > 0:
            # rank by the kind's own order, moved by the factor (scores of different kinds
            # are not comparable, ranks are)
            found.append(((order + 1) / factor, order, replace(pick, score=pick.score * factor)))
    found.sort(key=lambda x: (x[0], x[1]))
    return [pick for _, _, pick in found]
