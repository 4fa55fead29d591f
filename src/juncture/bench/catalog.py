"""``juncture bench catalog``: the import rate of a Merchant Center product feed against the
raw insert rate of the same rows.

A feed of ``products`` products (TSV, each with a description, a spec sheet of three lines,
a related product and a custom label) is written to a scratch file, then, each on a new
database (SQLite; with ``postgres_url`` also PostgreSQL):

* **import**: ``juncture catalog import``'s path (read, check, build records, upsert in
  transactions of ``chunk`` rows, each reading the stored fingerprints of its rows first);
* **again**: the same feed a second time (every row read, its fingerprint found stored);
* **raw**: the same products, read and built with the clock stopped, inserted by plain
  ``INSERT`` in transactions of 1,000 through the same driver path (the raw limit).

The ratio is the import's rows/s over the raw insert's; the same from this process's CPU
time is given beside it (steadier than the wall clock on a shared machine). With
``--events``, the import runs once more while events flow into a server on the same
database (:mod:`juncture.bench.catalog_flow`): ingestion's rate and latency, quiet and
during the import.
"""

from __future__ import annotations

import datetime as dt
import itertools
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import Any

from juncture.bench import catalog_flow
from juncture.core import retail
from juncture.definitions import catalog as feed
from juncture.runtime.catalog_import import BATCH, import_feed
from juncture.store import scratch
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


def _store(url: str) -> SqlStore:
    store = SqlStore(url)
    store.migrate()
    return store


@contextmanager
def _timed(spent: list[float]) -> Iterator[None]:
    """Add the wall-clock seconds and this process's CPU seconds of the block to ``spent``."""
    wall, cpu = time.perf_counter(), time.process_time()
    yield
    spent[0] += time.perf_counter() - wall
    spent[1] += time.process_time() - cpu


def _import(
    url: str, source: Path, now: dt.datetime, *, twice: bool, chunk: int
) -> list[list[float]]:
    """Wall-clock and CPU seconds of each import."""
    store = _store(url)
    try:
        found = []
        for _ in range(2 if twice else 1):
            found.append([0.0, 0.0])
            with _timed(found[-1]), source.open("rb") as stream:
                report = import_feed(
                    store.catalog, store.programmes, stream, str(source), kind="products",
                    now=now, chunk=chunk,
                )  # fmt: skip
            if report.refused_rows:
                raise RuntimeError(f"the bench's feed had refused rows: {report.refused[:3]}")
        return found
    finally:
        store.close()


def _raw(url: str, source: Path, now: dt.datetime) -> list[float]:
    """Wall-clock and CPU seconds spent inserting the feed's products, read and built a
    transaction's worth at a time with the clock stopped (a million never sit in memory)."""
    store = _store(url)
    spent = [0.0, 0.0]
    try:
        with source.open("rb") as stream:
            reads = feed.read(stream, str(source), "products", "tsv")
            while chunk := [r.record for r in itertools.islice(reads, BATCH)]:
                products = [p for p in chunk if isinstance(p, retail.Product)]
                with _timed(spent):
                    store.catalog.insert_plain(products, now)
        return spent
    finally:
        store.close()


def run(
    *,
    products: int,
    echo: Echo,
    event_rate: float = 0.0,
    chunk: int = BATCH,
    postgres_url: str | None = None,
) -> dict[str, Any]:
    """The import (``chunk`` rows to a transaction), the same feed again and the raw insert;
    with ``event_rate``, the import again while that many events/s flow into a server on
    the same database (:mod:`juncture.bench.catalog_flow`). SQLite, and with
    ``postgres_url`` the same on new databases of that server (``postgres`` in the result)."""
    now = dt.datetime.now(dt.UTC)
    with tempfile.TemporaryDirectory(prefix="juncture-bench-") as tmp:
        source = Path(tmp) / "products.tsv"
        _feed(source, products)
        size = source.stat().st_size
        echo(f"[catalog] {products:,} products ({size / 1e6:,.1f} MB of TSV)")
        bench = _Bench(source, products, now, chunk=chunk, event_rate=event_rate, echo=echo)
        result = bench.on("sqlite", lambda name: nullcontext(f"sqlite:///{Path(tmp) / name}.db"))
        if postgres_url:
            result["postgres"] = bench.on("postgres", lambda n: scratch.postgres(postgres_url, n))
    return {"cores": os.cpu_count(), "products": products, "feed_bytes": size, **result}


class _Bench:
    """One feed's figures on one kind of database."""

    def __init__(
        self,
        source: Path,
        products: int,
        now: dt.datetime,
        *,
        chunk: int,
        event_rate: float,
        echo: Echo,
    ) -> None:
        self.source, self.products, self.now, self.chunk = source, products, now, chunk
        self.event_rate, self.echo = event_rate, echo

    def on(
        self, label: str, url_for: Callable[[str], AbstractContextManager[str]]
    ) -> dict[str, Any]:
        """The figures on new databases of ``url_for`` (a name to the URL of a new one)."""
        n, echo = self.products, self.echo
        echo(f"[catalog] {label}: importing, {self.chunk:,} rows to a transaction ...")
        with url_for("import") as url:
            first, again = _import(url, self.source, self.now, twice=True, chunk=self.chunk)
        echo(f"[catalog] {label}: raw insert of the same rows ...")
        with url_for("raw") as url:
            raw = _raw(url, self.source, self.now)
        result: dict[str, Any] = {
            "chunk": self.chunk,
            "import_per_s": n / first[0],
            "again_per_s": n / again[0],
            "raw_insert_per_s": n / raw[0],
            # CPU time of this process: steadier than the wall clock on a shared machine
            "cpu_us_per_row": {"import": first[1] / n * 1e6, "again": again[1] / n * 1e6,
                               "raw_insert": raw[1] / n * 1e6},
            "cpu_ratio": raw[1] / first[1],
        }  # fmt: skip
        result["ratio"] = result["import_per_s"] / result["raw_insert_per_s"]
        if self.event_rate > 0:
            with url_for("flow") as url:
                result["while_events_flow"] = catalog_flow.run(
                    self.source, url, products=n, rate=self.event_rate, expected=first[0],
                    echo=echo, chunk=self.chunk,
                )  # fmt: skip
            _say_flow(label, self.event_rate, result["while_events_flow"], echo)
        echo(
            f"[catalog] {label}: import {result['import_per_s']:,.0f} rows/s, the same feed "
            f"again {result['again_per_s']:,.0f} rows/s | raw insert "
            f"{result['raw_insert_per_s']:,.0f} rows/s | ratio {result['ratio']:.2f} (CPU time "
            f"{result['cpu_ratio']:.2f})"
        )
        return result


def _say_flow(label: str, rate: float, flowing: dict[str, Any], echo: Echo) -> None:
    quiet, busy = flowing["quiet"], flowing["during_import"]
    echo(
        f"[catalog] {label}: events at {rate:,.0f}/s: quiet {quiet['events_per_s']:,.0f}/s "
        f"p50 {quiet['p50_ms']:.1f} ms p99 {quiet['p99_ms']:.1f} ms | during the import "
        f"{busy['events_per_s']:,.0f}/s p50 {busy['p50_ms']:.1f} ms p99 "
        f"{busy['p99_ms']:.1f} ms | the import meanwhile {flowing['import_per_s']:,.0f} rows/s"
        + ("" if flowing["load_covered_import"] else " (the load ended before the import did)")
    )
