"""The decision path's reads through the driver (products with their related lists and
stock lines by product id; the visitor with their views) answer exactly what the stored rows
hold: every field round-trips, times in UTC included, retired products are left out, a
merged visitor is read through to the survivor, and the answer equals SQLAlchemy's read of
the same rows. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from juncture.core import retail
from juncture.store import catalog as catalog_store
from juncture.store import tables
from juncture.store.sql import SqlStore
from tests.contract.test_product_views import commit_each, identified, pid_of, viewed

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


def test_the_visitor_is_read_through_merges_as_sqlalchemy_reads_it(store: SqlStore) -> None:
    history = [viewed(1, "a1", "P1"), viewed(2, "a1", "P2"), viewed(3, "a2", "P3")]
    commit_each(store, [*history, identified(4, "a1", "u1"), identified(5, "a2", "u1")])
    placements = store.placements
    m = tables.merges
    with store.engine.connect() as conn:
        [(survivor, merged)] = conn.execute(sa.select(m.c.survivor, m.c.merged)).all()
    expected = store.profiles.profile(survivor)
    assert expected is not None
    for asked in (["user_id:u1"], ["anonymous_id:nobody", "anonymous_id:a2"]):
        assert placements.visitor(asked) == (survivor, expected.profile)
    i = tables.identities
    with store.engine.begin() as conn:  # an identity still naming the merged profile
        conn.execute(i.insert().values(identifier="anonymous_id:old", profile_id=merged))
    assert placements.visitor(["anonymous_id:old"]) == (survivor, expected.profile)
    assert placements.visitor(["anonymous_id:nobody"]) == (None, None)
    assert pid_of(store, "a1") in (survivor, merged)
