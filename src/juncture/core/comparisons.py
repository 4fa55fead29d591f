"""Side-by-side answers from the retailer's tables: a feature-by-feature table of products a
shopper compares, and the associates who know a product's line.

>>> a = retail.Product("a", "A", price=10.0, details=(retail.Detail("Power", "Watts", "2200"),))
>>> b = retail.Product("b", "B", price=12.0, details=(retail.Detail("Power", "Watts", "3000"),))
>>> table([a, b], dt.datetime(2026, 1, 1, tzinfo=dt.UTC))["rows"][0]["values"]
['2200', '3000']
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from juncture.core import offers, retail


def table(products: Sequence[retail.Product], now: dt.datetime) -> dict[str, Any]:
    """Columns (each product with its price in force) and rows (each spec line any of them
    has, in the order first met, with every product's value or None, and whether they
    differ)."""
    names: dict[tuple[str, str], None] = {}
    for p in products:
        for d in p.details:
            names.setdefault((d.section, d.name), None)
    columns = []
    for p in products:
        price, sale = retail.price_at(p, now)
        columns.append(
            {"id": p.id, "title": p.title, "brand": p.brand, "price": price, "onSale": sale,
             "currency": p.currency, "availability": p.availability}
        )  # fmt: skip
    rows = []
    for section, name in names:
        values = [
            next((d.value for d in p.details if (d.section, d.name) == (section, name)), None)
            for p in products
        ]
        rows.append({"section": section, "name": name, "values": values,
                     "differs": len(set(values)) > 1})  # fmt: skip
    return {"columns": columns, "rows": rows}


def knows(associate: offers.Associate, product: retail.Product) -> bool:
    """Whether one of the associate's skills is the product's brand or a prefix of its
    category path (any case)."""
    category = (product.category or "").lower()
    brand = (product.brand or "").lower()
    for skill in associate.skills:
        wanted = skill.lower().strip()
        if wanted and (wanted == brand or (category and category.startswith(wanted))):
            return True
    return False


def experts(
    associates: Sequence[offers.Associate], product: retail.Product, weekday: str
) -> list[offers.Associate]:
    """The associates who know ``product``'s line, those working on ``weekday`` first."""
    found = [a for a in associates if knows(a, product)]
    return sorted(found, key=lambda a: (weekday not in a.schedule, a.name, a.associate_id))
