"""``juncture bench catalog``: the import rate of a Merchant Center product feed against the
raw insert rate of the same rows.

A feed of ``products`` products (TSV, each with a description, a spec sheet of three lines,
a related product and a custom label) is written to a scratch file, then, each on a fresh
SQLite database:

* **import**: ``juncture catalog import``'s path (read, check, build records, upsert in
  batches of 1,000, each reading the batch's stored rows first and recording what changed);
* **again**: the same feed a second time (every row read, compared and found unchanged);
* **raw**: the same products, read and built before the clock starts, inserted by plain
  ``INSERT`` in transactions of 1,000 (the raw limit).

The ratio is the import's rows/s over the raw insert's. With ``--events``, the import runs
once more while events flow into a server on the same database
(:mod:`juncture.bench.catalog_flow`): ingestion's rate and latency, quiet and during the
import.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from juncture.bench import catalog_flow
from juncture.core import retail
from juncture.definitions import catalog as feed
from juncture.runtime.catalog_import import BATCH, import_feed
from juncture.store.sql import SqlStore

Echo = Callable[[str], None]
HEADER = "id\ttitle\tdescription\tlink\tbrand\tproduct_type\tprice\tavailability\t"
HEADER += "product_detail\trelated_products\tcustom_label_0\n"


def _feed(path: Path, products: int) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write(HEADER)
        for i in range(products):
            details = f"General:Weight:{i % 900} g,Power:Watts:{i % 3000},Size:Height:{i % 40} cm"
            out.write(
                f"P{i:07d}\tProduct {i}\tA sturdy thing number {i}\t"
                f"https://shop.example/p/{i}\tBrand{i % 50}\tHome > Kitchen > Line{i % 30}\t"
                f"{10 + i % 500}.00 EUR\tin stock\t{details}\tP{(i + 1) % products:07d}\t"
                f"label{i % 4}\n"
            )


def _store(path: Path) -> SqlStore:
    store = SqlStore(f"sqlite:///{path}")
    store.migrate()
    return store


def _import(
    db: Path, source: Path, now: dt.datetime, *, twice: bool, chunk: int
) -> tuple[float, float]:
    store = _store(db)
    try:
        seconds = []
        for _ in range(2 if twice else 1):
            started = time.perf_counter()
            with source.open("rb") as stream:
                report = import_feed(
                    store.catalog, store.programmes, stream, str(source), kind="products",
                    now=now, chunk=chunk,
                )  # fmt: skip
            seconds.append(time.perf_counter() - started)
            if report.refused_rows:
                raise RuntimeError(f"the bench's feed had refused rows: {report.refused[:3]}")
        return seconds[0], seconds[-1]
    finally:
        store.close()


def _raw(db: Path, source: Path, now: dt.datetime) -> float:
    with source.open("rb") as stream:
        records = [r.record for r in feed.read(stream, str(source), "products", "tsv")]
    products = [p for p in records if isinstance(p, retail.Product)]
    store = _store(db)
    try:
        started = time.perf_counter()
        for start in range(0, len(products), BATCH):
            store.catalog.insert_plain(products[start : start + BATCH], now)
        return time.perf_counter() - started
    finally:
        store.close()


def run(
    *, products: int, echo: Echo, event_rate: float = 0.0, chunk: int = BATCH
) -> dict[str, Any]:
    """The import (``chunk`` rows to a transaction), the same feed again and the raw insert;
    with ``event_rate``, the import again while that many events/s flow into a server on
    the same database (:mod:`juncture.bench.catalog_flow`)."""
    now = dt.datetime.now(dt.UTC)
    flowing: dict[str, Any] | None = None
    with tempfile.TemporaryDirectory(prefix="juncture-bench-") as tmp:
        source = Path(tmp) / "products.tsv"
        _feed(source, products)
        size = source.stat().st_size
        echo(f"[catalog] {products:,} products ({size / 1e6:,.1f} MB of TSV): importing ...")
        first, again = _import(Path(tmp) / "import.db", source, now, twice=True, chunk=chunk)
        echo("[catalog] raw insert of the same rows ...")
        raw = _raw(Path(tmp) / "raw.db", source, now)
        if event_rate > 0:
            flowing = catalog_flow.run(
                source, Path(tmp) / "flow.db", products=products, rate=event_rate,
                expected=first, echo=echo, chunk=chunk,
            )  # fmt: skip
    result: dict[str, Any] = {
        "cores": os.cpu_count(),
        "products": products,
        "chunk": chunk,
        "feed_bytes": size,
        "import_per_s": products / first,
        "again_per_s": products / again,
        "raw_insert_per_s": products / raw,
    }
    result["ratio"] = result["import_per_s"] / result["raw_insert_per_s"]
    if flowing is not None:
        result["while_events_flow"] = flowing
        quiet, busy = flowing["quiet"], flowing["during_import"]
        echo(
            f"[catalog] events at {event_rate:,.0f}/s: quiet {quiet['events_per_s']:,.0f}/s "
            f"p50 {quiet['p50_ms']:.1f} ms p99 {quiet['p99_ms']:.1f} ms | during the import "
            f"{busy['events_per_s']:,.0f}/s p50 {busy['p50_ms']:.1f} ms p99 "
            f"{busy['p99_ms']:.1f} ms | the import meanwhile {flowing['import_per_s']:,.0f} rows/s"
        )
    echo(
        f"[catalog] import {result['import_per_s']:,.0f} rows/s, the same feed again "
        f"{result['again_per_s']:,.0f} rows/s | raw insert {result['raw_insert_per_s']:,.0f} "
        f"rows/s | ratio {result['ratio']:.2f}"
    )
    return result
