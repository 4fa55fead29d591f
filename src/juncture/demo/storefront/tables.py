"""The demo's retailer tables: the storefront's catalogue (the simulated retailer's products,
stores and warehouse, with stock per location) written into the tables the touchpoints
read, so that a product page's pickup, low stock and spec sheet, and the price drops and
returns to stock a catalogue change brings, answer about the products the shop shows.

Written once, when the tables hold no product: a retailer's own tables are never touched.
"""

from __future__ import annotations

import datetime as dt

from juncture.core import retail
from juncture.sim.catalog import Catalog, Product
from juncture.store.catalog import Catalog as Tables

CURRENCY = "USD"


def stock(tables: Tables, catalog: Catalog, now: dt.datetime) -> bool:
    """Fill ``tables`` with ``catalog`` unless they hold a product; whether it did."""
    if tables.counts()["products"]:
        return False
    locations = [
        retail.Location(
            loc.location_id, loc.name, kind=loc.kind, locality=loc.city, country=loc.country,
            time_zone=loc.timezone,
        )
        for loc in catalog.locations
    ]  # fmt: skip
    tables.upsert_locations(locations, now)
    tables.upsert_products([product(p) for p in catalog.products], now)
    lines = [
        retail.Stock(p.product_id, code, quantity=qty, price=p.price, currency=CURRENCY,
                     pickup_method="buy" if qty else None)
        for p in catalog.products
        for code, qty in p.inventory
    ]  # fmt: skip
    tables.upsert_stock(lines, now)
    return True


def product(p: Product) -> retail.Product:
    """A simulated product as a line of the product feed, with a short spec sheet."""
    held = sum(qty for _, qty in p.inventory)
    details = (
        retail.Detail("General", "Brand", p.brand),
        retail.Detail("General", "Category", p.category),
        retail.Detail("General", "SKU", p.sku),
    )
    return retail.Product(
        p.product_id, p.name, description=p.description, brand=p.brand,
        category=" > ".join(p.category_path), price=p.price, currency=CURRENCY,
        availability="in_stock" if held else "out_of_stock", details=details,
        link=f"/demo/product/{p.product_id}",
    )  # fmt: skip
