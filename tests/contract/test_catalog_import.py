"""Importing product feeds on every store: a row unchanged since the last import is skipped
by its fingerprint, a change made otherwise is undone by the next feed, and a feed broken
off midway keeps whole transactions that a rerun completes."""

from __future__ import annotations

import datetime as dt
import io
from typing import IO, Any

import msgspec
import pytest

from juncture.core import retail
from juncture.definitions import catalog
from juncture.errors import BadInput
from juncture.runtime.catalog_import import change_product, import_feed
from juncture.store.sql import SqlStore

T0 = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
HEADER = "id\ttitle\tprice\tavailability\trelated_products\n"


def _feed(count: int) -> bytes:
    rows = [
        f"p{n:04}\tProduct {n}\t{n}.00 USD\tin stock\tp{(n + 1) % count:04}" for n in range(count)
    ]
    return (HEADER + "\n".join(rows) + "\n").encode()


def _import(store: SqlStore, feed: bytes | IO[bytes], **given: Any) -> Any:
    stream = io.BytesIO(feed) if isinstance(feed, bytes) else feed
    return import_feed(
        store.catalog, store.programmes, stream, "p.tsv", kind="products", now=T0, **given
    )


# Every attribute a product is built from, with another value for each.
EVERY = {
    "title": ("Kettle", "Steel Kettle"),
    "description": ("Boils water", "Boils water fast"),
    "link": ("https://shop.example/e1", "https://shop.example/e1?v=2"),
    "image_link": ("https://shop.example/e1.png", "https://shop.example/e1.jpg"),
    "brand": ("Acme", "Other"),
    "product_type": ("Home > Kitchen", "Home > Kettles"),
    "google_product_category": ("Home & Garden", "649"),
    "gtin": ("4006381333931", "4006381333948"),
    "mpn": ("K-1", "K-2"),
    "item_group_id": ("kettles", "kettles-2"),
    "price": ("40.00 EUR", "39.00 EUR"),
    "sale_price": ("30.00 EUR", "29.00 EUR"),
    "sale_price_effective_date": (
        "2026-11-01T00:00Z/2026-11-08T00:00Z",
        "2026-11-02T00:00Z/2026-11-08T00:00Z",
    ),
    "availability": ("in stock", "out of stock"),
    "availability_date": ("2026-12-01T00:00Z", "2026-12-02T00:00Z"),
    "condition": ("new", "used"),
    "color": ("steel", "red"),
    "size": ("1.7 l", "1.5 l"),
    "material": ("steel", "glass"),
    "gender": ("unisex", "female"),
    "age_group": ("adult", "kids"),
    "product_detail": ("General:Capacity:1.7 l,Power:Watts:2200", "General:Capacity:1.7 l"),
    "related_products": ("e2,e3", "e3,e2"),
    "accessories": ("e4", "e5"),
    "custom_label_0": ("summer", "winter"),
}


def _row(values: dict[str, str]) -> bytes:
    return ("id\t" + "\t".join(values) + "\ne1\t" + "\t".join(values.values()) + "\n").encode()


def _built(feed: bytes) -> retail.Product:
    (read,) = catalog.read(io.BytesIO(feed), "p.tsv", "products", "tsv")
    assert isinstance(read.record, retail.Product), read.problems
    return read.record


def test_a_new_product_is_stored_as_built_and_a_change_to_any_attribute_is_written(
    store: SqlStore,
) -> None:
    first = _row({name: values[0] for name, values in EVERY.items()})
    assert (_import(store, first).new, _import(store, first).unchanged) == (1, 1)
    assert store.catalog.product("e1") == _built(first)
    for name, (_, other) in EVERY.items():
        changed = _row({n: other if n == name else v[0] for n, v in EVERY.items()})
        assert _built(changed) != _built(first), name
        report = _import(store, changed)
        assert (report.new, report.changed, report.unchanged) == (0, 1, 0), name
        assert store.catalog.product("e1") == _built(changed), name
        assert _import(store, first).changed == 1, name
    assert store.catalog.product("e1") == _built(first)


def test_an_id_listed_twice_in_a_transaction_is_written_once_as_its_last_row(
    store: SqlStore,
) -> None:
    feed = (
        HEADER + "p1\tFirst\t1.00 USD\tin stock\tp2\np1\tLast\t2.00 USD\tin stock\tp3\n"
    ).encode()
    report = _import(store, feed)
    assert (report.rows, report.new, report.unchanged) == (2, 1, 1)
    found = store.catalog.product("p1")
    assert found is not None
    assert (found.title, found.price, found.related) == ("Last", 2.0, (retail.Related("p3"),))


def test_an_unchanged_row_is_skipped_and_a_change_made_otherwise_is_undone(
    store: SqlStore,
) -> None:
    feed = _feed(3)
    assert _import(store, feed).new == 3
    stored = store.catalog.fingerprints(["p0000", "p0001", "p0002", "nope"])
    assert set(stored) == {"p0000", "p0001", "p0002"} and all(stored.values())
    kept = store.catalog.product("p0001")
    assert kept is not None
    # a price set over the admin API: the feed's row no longer says what is stored
    change_product(store.catalog, msgspec.structs.replace(kept, price=0.5), now=T0, announce=None)
    assert store.catalog.fingerprints(["p0001"]) == {"p0001": None}
    again = _import(store, feed)
    assert (again.new, again.changed, again.unchanged) == (0, 1, 2)
    assert store.catalog.product("p0001") == kept
    # the same rows in another order of columns: the same fingerprints, skipped
    swapped = [[c[1], c[0], *c[2:]] for c in (r.split(b"\t") for r in feed.splitlines())]
    _import(store, b"\n".join(b"\t".join(c) for c in swapped) + b"\n")
    assert store.catalog.fingerprints(["p0000"]) == {"p0000": stored["p0000"]}
    # the same products written otherwise: built, found equal, the new rows' fingerprints kept
    other = _import(store, feed.replace(b"in stock", b"In_Stock"))
    assert (other.changed, other.unchanged) == (0, 3)
    assert store.catalog.fingerprints(["p0000"])["p0000"] not in (None, stored["p0000"])


def test_a_retired_product_listed_again_comes_back_unread_rows_or_not(store: SqlStore) -> None:
    feed = _feed(4)
    _import(store, feed)
    assert _import(store, _feed(2), full=True).retired == 2
    assert store.catalog.fingerprints(["p0003"]) == {"p0003": None}  # retired: read again
    back = _import(store, feed, full=True)
    # p0001 named p0000 as related in the short feed
    assert (back.new, back.changed, back.unchanged, back.retired) == (2, 1, 1, 0)
    assert store.catalog.counts()["products"] == 4


class _BrokenOff(io.RawIOBase):
    """A feed whose reading fails after ``limit`` bytes, as a dropped connection would."""

    def __init__(self, data: bytes, limit: int) -> None:
        self.data, self.limit, self.at = data, limit, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self.at >= self.limit:
            raise OSError("the connection was reset")
        chunk = self.data[self.at : min(self.at + len(buffer), self.limit)]
        buffer[: len(chunk)] = chunk
        self.at += len(chunk)
        return len(chunk)


def test_a_feed_broken_off_keeps_whole_transactions_and_a_rerun_completes_it(
    store: SqlStore,
) -> None:
    feed = _feed(1000)
    with pytest.raises(OSError, match="reset"):
        _import(store, io.BufferedReader(_BrokenOff(feed, len(feed) * 2 // 3)), chunk=100)
    kept = store.catalog.counts()["products"]
    assert kept in range(100, 1000, 100)  # whole transactions of 100 rows, not all
    ids = [f"p{n:04}" for n in range(kept)]
    found = store.catalog.products(ids)
    assert len(found) == kept and all(len(p.related) == 1 for p in found.values())
    rerun = _import(store, feed, chunk=100)
    assert (rerun.new, rerun.unchanged, rerun.changed) == (1000 - kept, kept, 0)
    assert store.catalog.counts()["products"] == 1000


def test_rows_to_a_transaction_are_bounded(store: SqlStore) -> None:
    for chunk in (0, 10_001):
        with pytest.raises(BadInput, match="rows to a transaction") as refused:
            _import(store, _feed(2), chunk=chunk)
        assert refused.value.where == "chunk"
    assert store.catalog.counts()["products"] == 0
