"""The decision path's reads through the driver (products with their related lists and
stock lines by product id) answer exactly what the stored rows hold: every field round-trips,
times in UTC included, retired products are left out, and the answer equals SQLAlchemy's
read of the same rows. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from juncture.core import retail
from juncture.store import catalog as catalog_store
from juncture.store.sql import SqlStore

AT = dt.datetime(2026, 12, 6, 12, tzinfo=dt.UTC)
SALE = (
    dt.datetime(2026, 12, 1, 8, 30, tzinfo=dt.UTC),
    dt.datetime(2026, 12, 24, 23, 59, 59, 5, tzinfo=dt.UTC),
)


def _products() -> list[retail.Product]:
    full = retail.Product(
        "P1", "Trail Runner", "Light shoe", "https://shop.example/p1", "https://shop.example/p1.jpg",
        "Brand1", "Sport > Running > Shoes", "187", "0001", "M1", "G1", 89.95, "EUR", 69.95,
        *SALE, "preorder", dt.datetime(2027, 1, 2, tzinfo=dt.UTC), "new", "blue", "42", "mesh",
        "unisex", "adult", (retail.Detail("General", "Weight", "250 g"),),
        (retail.Related("P2", "accessory"), retail.Related("P3")), {"drop": "8 mm"},
    )  # fmt: skip
    return [full, retail.Product("P2", "Socks"), retail.Product("P3", "Laces", price=3.0)]


def test_products_and_stock_round_trip(store: SqlStore) -> None:
    catalog = store.catalog
    written = _products()
    catalog.upsert_products(written, AT)
    stock = [
        retail.Stock("P1", "S1", 3, "in_stock", 89.0, "EUR", 79.0, *SALE, "pickup", "same day",
                     "Sport", "12", "B"),
        retail.Stock("P1", "S0", None),
        retail.Stock("P2", "S1", 0, "out_of_stock"),
    ]  # fmt: skip
    catalog.upsert_stock(stock, AT)
    assert catalog.products(["P3", "P1", "P9", "P2"]) == {p.id: p for p in written}
    assert catalog.products([]) == {}
    assert catalog.stocks(["P1", "P2", "P3"]) == {
        "P1": [stock[1], stock[0]], "P2": [stock[2]], "P3": []
    }  # fmt: skip
    catalog.retire_products({"P1", "P3"}, AT)
    assert set(catalog.products(["P1", "P2", "P3"])) == {"P1", "P3"}


def test_driver_reads_equal_sqlalchemy_reads(store: SqlStore) -> None:
    catalog = store.catalog
    catalog.upsert_products(_products(), AT)
    with store.engine.connect() as conn:
        where = catalog_store.P.c.product_id.in_(["P1", "P2", "P3"])
        by_sqlalchemy = catalog_store._products(conn, where)
    assert catalog.products(["P1", "P2", "P3"]) == by_sqlalchemy
