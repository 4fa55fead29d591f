"""The retailer's tables on every store: upserts that say what changed (and write nothing
when nothing did), retirement by a full feed, searches and stock reads."""

from __future__ import annotations

import dataclasses
import datetime as dt
import io

import msgspec

from juncture.core import retail
from juncture.runtime.catalog_import import import_feed
from juncture.store.sql import SqlStore

T0 = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
KETTLE = retail.Product(
    "k1",
    "Steel Kettle",
    brand="Acme",
    category="Home > Kitchen > Kettles",
    item_group_id="kettle",
    price=40.0,
    currency="EUR",
    sale_price=30.0,
    sale_starts=T0,
    sale_ends=T0 + dt.timedelta(days=7),
    color="steel",
    details=(retail.Detail("General", "Capacity", "1.7 l"),),
    related=(retail.Related("m1", "accessory"), retail.Related("k2")),
    attributes={"custom_label_0": "summer"},
)
RED = msgspec.structs.replace(KETTLE, id="k2", color="red", related=())
MUG = retail.Product("m1", "Stone Mug", brand="Other", category="Home > Kitchen > Mugs", price=5.0)


def test_upserts_answer_what_changed_and_read_back_equal(store: SqlStore) -> None:
    catalog = store.catalog
    assert catalog.upsert_products([KETTLE, RED, MUG], T0) == [
        (None, KETTLE),
        (None, RED),
        (None, MUG),
    ]
    assert catalog.upsert_products([KETTLE, RED, MUG], T0) == []
    cheaper = msgspec.structs.replace(
        KETTLE, price=35.0, related=(retail.Related("m1", "accessory"),)
    )
    assert catalog.upsert_products([cheaper, RED], T0) == [(KETTLE, cheaper)]
    assert catalog.product("k1") == cheaper
    assert catalog.products(["k1", "nope", "m1"]) == {"k1": cheaper, "m1": MUG}


def test_prices_are_the_sale_while_it_is_on_with_the_regular_beside(store: SqlStore) -> None:
    catalog = store.catalog
    catalog.upsert_products([KETTLE, MUG], T0)
    assert catalog.prices(T0 - dt.timedelta(seconds=1)) == {"k1": (40.0, None), "m1": (5.0, None)}
    assert catalog.prices(T0) == {"k1": (30.0, 40.0), "m1": (5.0, None)}
    assert catalog.prices(T0 + dt.timedelta(days=7))["k1"] == (40.0, None)  # the sale ended
    catalog.retire_products({"k1"}, T0)
    assert set(catalog.prices(T0)) == {"k1"}


def test_search_by_text_category_brand_and_group(store: SqlStore) -> None:
    store.catalog.upsert_products([KETTLE, RED, MUG], T0)

    def ids(**query: str) -> list[str]:
        return [p.id for p in store.catalog.search(**query)]  # type: ignore[arg-type]

    assert ids(text="kettle") == ["k1", "k2"]
    assert ids(text="KITCHEN") == ["k1", "k2", "m1"]
    assert ids(category="home > kitchen > mugs") == ["m1"]
    assert ids(category="Home > Kitchen") == ["k1", "k2", "m1"]
    assert ids(brand="acme") == ["k1", "k2"]
    assert ids(group="kettle", after="k1") == ["k2"]
    assert ids(text="50%_") == []  # LIKE's wildcards are text here


def test_a_full_feed_retires_what_it_leaves_out_and_a_listing_brings_it_back(
    store: SqlStore,
) -> None:
    catalog = store.catalog
    catalog.upsert_products([KETTLE, RED, MUG], T0)
    assert catalog.retire_products({"k1", "m1"}, T0) == 1
    assert catalog.product("k2") is None
    assert catalog.counts()["products"] == 2
    assert catalog.upsert_products([RED], T0) == [(None, RED)]
    assert catalog.product("k2") == RED


def test_stock_lines_by_product_and_by_location(store: SqlStore) -> None:
    catalog = store.catalog
    berlin = retail.Stock("k1", "berlin", 3, "in_stock", pickup_method="buy", pickup_sla="same_day")
    munich = retail.Stock("k1", "munich", 0, "out_of_stock", aisle="4", bay="B")
    assert len(catalog.upsert_stock([berlin, munich], T0)) == 2
    restocked = dataclasses.replace(munich, quantity=5, availability="in_stock")
    assert catalog.upsert_stock([berlin, restocked], T0) == [(munich, restocked)]
    assert catalog.stock_of("k1") == [berlin, restocked]
    assert catalog.stock_at("munich") == [restocked]
    assert catalog.stock_at("berlin", ["m1"]) == []


def test_locations_round_trip(store: SqlStore) -> None:
    place = retail.Location(
        "berlin",
        "Berlin Mitte",
        latitude=52.52,
        longitude=13.41,
        hours={"monday": ("09:00", "20:00")},
    )
    depot = retail.Location("dc1", "Depot", kind="warehouse")
    assert len(store.catalog.upsert_locations([place, depot], T0)) == 2
    assert store.catalog.upsert_locations([place], T0) == []
    assert store.catalog.locations() == [place, depot]
    assert store.catalog.locations("warehouse") == [depot]
    assert store.catalog.retire_locations({"berlin"}, T0) == 1
    assert store.catalog.location("dc1") is None


def test_a_feed_import_in_batches_is_idempotent_and_keeps_good_rows(store: SqlStore) -> None:
    lines = ["id\ttitle\tprice\tavailability"]
    lines += [f"p{n:04}\tProduct {n}\t{n}.00 USD\tin stock" for n in range(1, 2501)]
    lines.insert(1200, "bad\t\t1.00 USD\tin stock")
    feed = ("\n".join(lines) + "\n").encode()
    first = import_feed(
        store.catalog, store.programmes, io.BytesIO(feed), "p.tsv", kind="products", now=T0
    )
    assert (first.rows, first.new, first.refused_rows) == (2501, 2500, 1)
    assert first.refused[0].where("p.tsv") == "p.tsv:1201: title: is required"
    again = import_feed(
        store.catalog,
        store.programmes,
        io.BytesIO(feed),
        "p.tsv",
        kind="products",
        now=T0,
        full=True,
    )
    assert (again.new, again.changed, again.unchanged, again.retired) == (0, 0, 2500, 0)
    head = ("\n".join(lines[:11]) + "\n").encode()
    full = import_feed(
        store.catalog,
        store.programmes,
        io.BytesIO(head),
        "p.tsv",
        kind="products",
        now=T0,
        full=True,
    )
    assert (full.unchanged, full.retired) == (10, 2490)
    assert store.catalog.counts()["products"] == 10
