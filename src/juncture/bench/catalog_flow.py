"""``juncture bench catalog``'s second part: a product feed imported while events keep
flowing into the same database.

A real ``juncture serve`` (its own process, on a fresh database, the engine inline) takes
a paced, open-loop load of tracking batches (100 product views each, at ``rate`` events/s;
each latency counted from when its batch was due) for :data:`QUIET_SECONDS` with nothing
else running (the baseline), then again while this process imports the feed into the same
database through ``juncture catalog import``'s path (transactions of ``chunk`` rows: on
SQLite the server's commits wait at most one of them). Reported: the ingestion's acknowledged
events/s and p50/p99 latency, quiet and during the import, and the import's rows/s under
that load.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

from juncture.bench.ingest import BATCH, WRITE_KEY, make_batches
from juncture.bench.loadgen import LoadResult, request_bytes, run_paced
from juncture.runtime.catalog_import import import_feed
from juncture.store.sql import SqlStore
from juncture.testing import ServerProcess

Echo = Callable[[str], None]
QUIET_SECONDS: Final = 10.0  # the baseline's length
# The load during the import lasts until the import ends, with batches enough for this many
# times the import's time alone (under load it took four times as long: 1,000,000 rows, 76 s
# alone and 300 s with events flowing on 2 cores).
LONGEST: Final = 6.0
CONNECTIONS: Final = 4
STARTUP: Final = 180.0  # seconds a server may take to start on a loaded machine


def _figures(result: LoadResult) -> dict[str, Any]:
    ok = result.statuses.get(200, 0)
    return {
        "events_per_s": ok * BATCH / result.seconds if result.seconds else 0.0,
        "p50_ms": result.percentile(0.5) * 1000,
        "p99_ms": result.percentile(0.99) * 1000,
        "batches": len(result.latencies),
        "statuses": {str(k): v for k, v in result.statuses.items()},
        "seconds": result.seconds,
    }


def _requests(port: int, batches: list[bytes]) -> list[bytes]:
    return [request_bytes("127.0.0.1", port, "/v1/batch", b, WRITE_KEY) for b in batches]


def _load(
    port: int, requests: list[bytes], rate: float, until: Callable[[], bool] | None = None
) -> LoadResult:
    return asyncio.run(
        run_paced("127.0.0.1", port, requests, rate / BATCH, CONNECTIONS, until=until)
    )


def run(
    source: Path,
    url: str,
    *,
    products: int,
    rate: float,
    expected: float,
    echo: Echo,
    chunk: int,
) -> dict[str, Any]:
    """Import ``source`` into the database of ``url`` while ``rate`` events/s flow in,
    ``chunk`` rows to a transaction; ``expected``: about how long the import takes alone
    (the load during it lasts until the import ends, or :data:`LONGEST` times that)."""
    store = SqlStore(url)
    store.migrate()
    quiet_n = max(1, math.ceil(rate * QUIET_SECONDS / BATCH))
    busy_n = max(1, math.ceil(rate * expected * LONGEST / BATCH))
    batches = make_batches((quiet_n + busy_n) * BATCH)
    env = {"JUNCTURE_WRITE_KEYS": WRITE_KEY, "JUNCTURE_LOG_LEVEL": "warning"}
    server = ServerProcess(url, env=env)
    try:
        server.start(timeout=STARTUP)  # not ``with``: entering would start a second one
        echo(f"[catalog] {rate:,.0f} events/s into a server, {QUIET_SECONDS:.0f} s quiet ...")
        quiet = _load(server.port, _requests(server.port, batches[:quiet_n]), rate)
        echo("[catalog] the same load while the feed imports ...")
        busy_requests = _requests(server.port, batches[quiet_n:])  # ready before either starts
        del batches
        found: dict[str, LoadResult] = {}
        ended: list[float] = []
        imported = threading.Event()

        def flowing() -> None:
            found["busy"] = _load(server.port, busy_requests, rate, until=imported.is_set)
            ended.append(time.perf_counter())

        flow = threading.Thread(target=flowing)
        flow.start()
        started = time.perf_counter()
        with source.open("rb") as stream:
            now = dt.datetime.now(dt.UTC)
            import_feed(
                store.catalog, store.programmes, stream, str(source), kind="products", now=now,
                chunk=chunk,
            )  # fmt: skip
        done = time.perf_counter()
        took = done - started
        imported.set()
        flow.join()
    finally:
        server.stop()
        store.close()
    busy = found["busy"]
    return {
        "event_rate": rate,
        "quiet": _figures(quiet),
        "during_import": _figures(busy),
        "import_per_s": products / took,
        "import_seconds": took,
        "load_covered_import": bool(ended) and ended[0] >= done,  # not out of requests
    }
