"""Importing a retailer's feed into its tables: the rows read by
:mod:`juncture.definitions.catalog` go to :class:`juncture.store.catalog.Catalog` in batches
of :data:`BATCH`, each its own transaction, so a large feed never holds the database for
long (events keep flowing in between) and a row refused, or a feed cut off midway, loses
nothing that was read before it.

Importing is idempotent: a row equal to the stored one writes nothing. A *full* feed
(``full=True``) lists everything the retailer sells: products (or locations) it no longer
lists are retired; a full feed with any refused row retires nothing, so that a bad row never
takes a product off sale. Stock lines are never retired (a line that is gone from the feed
is a level that did not change), nor are the programmes' records (loyalty, promotions,
coupons, associates, reviews), which end by their own dates.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any, Final

from juncture.core import retail
from juncture.definitions import catalog as feed
from juncture.definitions import feeds
from juncture.definitions.feeds import Problem
from juncture.store.catalog import Catalog
from juncture.store.programmes import Programmes

BATCH: Final = 1000
Progress = Callable[[int], None]
Announce = Callable[[list[retail.Change]], int]  # catalogue changes to events; how many


@dataclass
class FeedReport:
    """What an import did: rows read, records new, changed and unchanged, rows refused with
    their problems, records retired by a full feed."""

    kind: str
    format: str
    rows: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    retired: int = 0
    refused: list[Problem] = field(default_factory=list)
    refused_rows: int = 0
    announced: int = 0

    def to_json(self, name: str) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "format": self.format,
            "rows": self.rows,
            "new": self.new,
            "changed": self.changed,
            "unchanged": self.unchanged,
            "retired": self.retired,
            "refusedRows": self.refused_rows,
            "announced": self.announced,
            "problems": [_problem(name, p) for p in self.refused],
        }


def _problem(name: str, p: Problem) -> dict[str, Any]:
    return {"where": f"{name}:{p.line}", "column": p.column, "message": p.message}


def import_feed(
    catalog: Catalog,
    programmes: Programmes,
    stream: IO[bytes],
    name: str,
    *,
    kind: str,
    now: dt.datetime,
    fmt: str | None = None,
    full: bool = False,
    progress: Progress | None = None,
    announce: Announce | None = None,
) -> FeedReport:
    """Read the feed ``name`` from ``stream`` and upsert its records; ``fmt`` None guesses
    the format from the name and the first bytes. ``announce`` gets each batch's price
    drops and returns to stock."""
    if fmt is None:
        fmt = feeds.guess(name, _peek(stream))
    report = FeedReport(kind, fmt)
    pending: list[Any] = []
    seen: set[str] = set()
    for found in feed.read(stream, name, kind, fmt):
        report.rows += 1
        if found.record is None:
            report.refused_rows += 1
            report.refused.extend(found.problems)
        else:
            pending.append(found.record)
            seen.add(_key(found.record))
        if len(pending) >= BATCH:
            _write(
                catalog,
                programmes,
                kind=kind,
                pending=pending,
                now=now,
                report=report,
                announce=announce,
            )
        if progress is not None and report.rows % BATCH == 0:
            progress(BATCH)
    _write(
        catalog, programmes, kind=kind, pending=pending, now=now, report=report, announce=announce
    )
    if progress is not None:
        progress(report.rows % BATCH)
    if full and not report.refused_rows and kind in ("products", "locations"):
        retire = catalog.retire_products if kind == "products" else catalog.retire_locations
        report.retired = retire(seen, now)
    return report


def _peek(stream: IO[bytes]) -> bytes:
    peek = getattr(stream, "peek", None)
    if callable(peek):
        head = peek(4096)
        return bytes(head[:4096])
    start = stream.tell()
    head = stream.read(4096)
    stream.seek(start)
    return head


def _key(record: feed.Record) -> str:
    if isinstance(record, retail.Product):
        return record.id
    return record.store_code if isinstance(record, retail.Location) else ""


def change_product(
    catalog: Catalog, product: retail.Product, *, now: dt.datetime, announce: Announce | None
) -> FeedReport:
    """One product's change (a price, its availability) written as a one-row feed is:
    upserted, and a price drop or a return to stock it brings announced."""
    report = FeedReport("products", "api")
    report.rows = 1
    _write(catalog, None, kind="products", pending=[product], now=now, report=report,
           announce=announce)  # fmt: skip
    return report


def _write(
    catalog: Catalog,
    programmes: Programmes | None,
    *,
    kind: str,
    pending: list[Any],
    now: dt.datetime,
    report: FeedReport,
    announce: Announce | None,
) -> None:
    if not pending:
        return
    changed: list[tuple[Any, Any]]
    if kind == "products":
        changed = list(catalog.upsert_products(pending, now))
    elif kind == "inventory":
        changed = list(catalog.upsert_stock(pending, now))
    elif kind == "locations":
        changed = list(catalog.upsert_locations(pending, now))
    elif programmes is not None:
        changed = programmes.upsert(kind, pending, now)
    else:
        raise ValueError(f"no programmes to write {kind!r} to")
    new = sum(1 for before, _ in changed if before is None)
    report.new += new
    report.changed += len(changed) - new
    report.unchanged += len(pending) - len(changed)
    pending.clear()
    if announce is not None and kind in ("products", "inventory"):
        news = [
            c
            for before, after in changed
            for c in (
                retail.product_changes(before, after, now)
                if kind == "products"
                else retail.stock_changes(before, after, now)
            )
        ]
        report.announced += announce(news)
