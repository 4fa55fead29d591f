"""Importing a retailer's feed into its tables: the rows read by
:mod:`juncture.definitions.feeds` are built into records (:mod:`juncture.definitions.catalog`)
and go to :class:`juncture.store.catalog.Catalog` in chunks of ``chunk`` rows (default
:data:`BATCH`), each its own transaction, so a large feed never holds the database for
long (events keep flowing in between) and a row refused, or a feed cut off midway, loses
nothing that was read before it. A chunk's rows are read and built before its transaction
begins: on SQLite the write lock is held for the writing only.

Importing is idempotent: a row equal to the stored one writes nothing, and a product row
whose fingerprint (:func:`juncture.definitions.catalog.fingerprint`) is stored with the live
product is not even built. A *full* feed (``full=True``) lists everything the retailer
sells: products (or locations) it no longer lists are retired; a full feed with any refused
row retires nothing, so that a bad row never takes a product off sale. Stock lines are never
retired (a line that is gone from the feed is a level that did not change), nor are the
programmes' records (loyalty, promotions, coupons, associates, reviews), which end by their
own dates.
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
from juncture.errors import BadInput
from juncture.store import catalog_rows
from juncture.store.catalog import Catalog
from juncture.store.catalog_imports import PROBLEMS, CatalogImports
from juncture.store.programmes import Programmes

BATCH: Final = 1000
MAX_CHUNK: Final = 10_000  # a chunk's ids go into one IN (...): databases bound its length
Progress = Callable[[int], None]
Announce = Callable[[list[retail.Change]], int]  # catalogue changes to events; how many


@dataclass
class FeedReport:
    """What an import did: rows read, records new, changed and unchanged, rows refused,
    records retired by a full feed; ``problems`` counts every problem of the refused rows,
    ``refused`` keeps the first :data:`~juncture.store.catalog_imports.PROBLEMS` of them
    (what the journal stores), so a feed of bad rows is not held in memory."""

    kind: str
    format: str
    rows: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    retired: int = 0
    refused: list[Problem] = field(default_factory=list)
    refused_rows: int = 0
    problems: int = 0
    announced: int = 0

    def refuse(self, problems: tuple[Problem, ...]) -> None:
        """A row refused with its ``problems``: counted, and kept while there is room."""
        self.refused_rows += 1
        self.problems += len(problems)
        self.refused.extend(problems[: max(0, PROBLEMS - len(self.refused))])

    def counts(self) -> dict[str, int]:
        return {"rows": self.rows, "new": self.new, "changed": self.changed,
                "unchanged": self.unchanged, "retired": self.retired,
                "refused_rows": self.refused_rows}  # fmt: skip

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
            "problemCount": self.problems,
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
    chunk: int = BATCH,
) -> FeedReport:
    """Read the feed ``name`` from ``stream`` and upsert its records, ``chunk`` rows to a
    transaction; ``fmt`` None guesses the format from the name and the first bytes.
    ``announce`` gets each batch's price drops and returns to stock."""
    feed.builder(kind, name)
    if not 1 <= chunk <= MAX_CHUNK:
        raise BadInput(f"rows to a transaction: {chunk}; from 1 to {MAX_CHUNK:,}", where="chunk")
    if fmt is None:
        fmt = feeds.guess(name, _peek(stream))
    report = FeedReport(kind, fmt)
    batch = _Batch(catalog, programmes, kind=kind, now=now, report=report, announce=announce)
    for found in feeds.rows(stream, name, fmt):
        report.rows += 1
        batch.add(found)
        if len(batch.rows) >= chunk:
            batch.write()
            if progress is not None:
                progress(chunk)
    batch.write()
    if progress is not None:
        progress(report.rows % chunk)
    if full and not report.refused_rows and kind in ("products", "locations"):
        retire = catalog.retire_products if kind == "products" else catalog.retire_locations
        report.retired = retire(batch.seen, now)
    imports = CatalogImports(catalog.engine)
    imports.record(name, kind, fmt, full=full, at=now, counts=report.counts(),
                   problems=report.refused)  # fmt: skip
    return report


class _Batch:
    """The rows read since the last write, and the keys of every record read (what a full
    feed keeps). A product row whose fingerprint is stored with its product is counted
    unchanged without being built; a product that is not stored goes to its transaction as
    its rows (:func:`~juncture.store.catalog_rows.new_product`), built as soon as it is read,
    so that a transaction's worth of products never waits as objects (which the garbage
    collector would walk again and again: a tenth of a first import's time)."""

    def __init__(
        self,
        catalog: Catalog,
        programmes: Programmes,
        *,
        kind: str,
        now: dt.datetime,
        report: FeedReport,
        announce: Announce | None,
    ) -> None:
        self.catalog, self.programmes, self.kind, self.now = catalog, programmes, kind, now
        self.report, self.announce = report, announce
        self.rows: list[tuple[int, feeds.Row] | Problem] = []
        self.seen: set[str] = set()

    def add(self, found: tuple[int, feeds.Row] | Problem) -> None:
        self.rows.append(found)

    def write(self) -> None:
        hashes, stored = self._unread() if self.kind == "products" else ({}, None)
        pending: list[Any] = []
        fresh: dict[str, catalog_rows.New] = {}  # products not stored, as rows (the last wins)
        for found in self.rows:
            if isinstance(found, Problem):
                read = feed.Read(found.line, None, (found,))
            else:
                read = feed.build(self.kind, *found)
            record = read.record
            if record is None:
                self.report.refuse(read.problems)
            elif (
                stored is not None
                and isinstance(record, retail.Product)
                and record.id in hashes
                and record.id not in stored
            ):
                if record.id in fresh:
                    self.report.unchanged += 1  # as a batch counts an id's earlier rows
                fresh[record.id] = catalog_rows.new_product(record, self.now, hashes[record.id])
                self.seen.add(record.id)
            else:
                pending.append(record)
                self.seen.add(_key(record))
        self.rows.clear()
        if stored is not None and any(p.id not in hashes for p in pending):
            stored = None  # an id not read as plain text: which exist is not known
        _write(self.catalog, self.programmes, kind=self.kind, pending=pending, now=self.now,
               report=self.report, announce=self.announce, hashes=hashes, stored=stored,
               fresh=list(fresh.values()))  # fmt: skip

    def _unread(self) -> tuple[dict[str, str], set[str]]:
        """Take the product rows whose fingerprint is stored out of :attr:`rows` (unchanged,
        their ids seen); the others' fingerprints by id, to store with their products, and
        which of them exist."""
        hashes = {}
        for found in self.rows:
            if isinstance(found, tuple) and (pid := feed.row_id(found[1])):
                hashes[pid] = feed.fingerprint(found[1])  # the last row of an id wins
        stored = self.catalog.fingerprints(list(hashes))
        if not stored:  # none of them exists (a first import)
            return hashes, set()
        same = {pid for pid, h in hashes.items() if stored.get(pid) == h}
        if same:
            self.rows = [
                r for r in self.rows if not (isinstance(r, tuple) and feed.row_id(r[1]) in same)
            ]
            self.seen |= same
            self.report.unchanged += len(same)
        return {pid: h for pid, h in hashes.items() if pid not in same}, set(stored)


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
    hashes: dict[str, str] | None = None,
    stored: set[str] | None = None,
    fresh: list[catalog_rows.New] | None = None,
) -> None:
    """Write ``pending`` records (and ``fresh``: the rows of products not stored) and count
    them into ``report``; announce what changed for shoppers."""
    if not pending and not fresh:
        return
    changed: list[tuple[Any, Any]]
    if kind == "products":
        changed = list(catalog.upsert_products(pending, now, hashes, stored, fresh or ()))
        report.new += len(fresh or ())
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
