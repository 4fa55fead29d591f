"""The journal of catalogue imports on every store: each import is kept with its counts and
the problems of the rows it refused, in order; only the newest imports are kept, and only
the first problems of each."""

from __future__ import annotations

import datetime as dt
import io

import sqlalchemy as sa

from juncture.runtime.catalog_import import FeedReport, import_feed
from juncture.store import catalog_imports
from juncture.store.catalog_tables import catalog_import_problems as problems
from juncture.store.sql import SqlStore

T0 = dt.datetime(2026, 11, 1, 9, 0, tzinfo=dt.UTC)
HEADER = "id,title,price,availability\n"


def _import(store: SqlStore, name: str, rows: list[str], at: dt.datetime) -> FeedReport:
    feed = io.BytesIO((HEADER + "".join(f"{r}\n" for r in rows)).encode())
    return import_feed(store.catalog, store.programmes, feed, name, kind="products", now=at)


def test_each_import_is_kept_with_its_refused_rows(store: SqlStore) -> None:
    _import(store, "good.csv", ["a,Apple,1.00 USD,in stock"], T0)
    _import(store, "bad.csv", [
        "a,Apple,1.00 USD,in stock", "b,Banana,one dollar,in stock", ",No id,2.00 USD,in stock",
    ], T0 + dt.timedelta(minutes=1))  # fmt: skip
    newest, oldest = store.catalog_imports.recent()
    assert (oldest["name"], oldest["rows"], oldest["new"], oldest["refused_rows"]) == (
        "good.csv", 1, 1, 0,
    )  # fmt: skip
    assert oldest["problems"] == []
    assert newest["name"] == "bad.csv" and newest["at"] == T0 + dt.timedelta(minutes=1)
    assert (newest["rows"], newest["unchanged"], newest["refused_rows"]) == (3, 1, 2)
    assert (newest["kind"], newest["format"], newest["full"]) == ("products", "csv", False)
    assert [(p["line"], p["column"]) for p in newest["problems"]] == [(3, "price"), (4, "id")]
    assert "one dollar" in newest["problems"][0]["message"]


def test_only_the_newest_imports_and_their_first_problems_are_kept(store: SqlStore) -> None:
    many = catalog_imports.PROBLEMS + 30
    report = _import(store, "many.csv", [f"p{n},P,{n} dollars,in stock" for n in range(many)], T0)
    # the import holds no more problems than the journal keeps, and counts them all
    assert (report.refused_rows, report.problems, len(report.refused)) == (
        many, many, catalog_imports.PROBLEMS,
    )  # fmt: skip
    assert report.to_json("many.csv")["problemCount"] == many
    (found,) = store.catalog_imports.recent()
    assert found["refused_rows"] == many
    assert [p["line"] for p in found["problems"]] == list(range(2, catalog_imports.PROBLEMS + 2))
    for n in range(catalog_imports.IMPORTS):
        _import(store, f"feed-{n}.csv", ["a,Apple,1.00 USD,in stock"], T0 + dt.timedelta(hours=n))
    kept = store.catalog_imports.recent(limit=1000)
    assert [k["name"] for k in kept] == [
        f"feed-{n}.csv" for n in reversed(range(catalog_imports.IMPORTS))
    ]
    with store.engine.connect() as conn:  # the first import's problems went with it
        left = conn.execute(sa.select(sa.func.count()).select_from(problems)).scalar_one()
    assert left == 0
