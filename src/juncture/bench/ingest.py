"""``juncture bench ingest``: tracking events/s over HTTP against raw inserts.

The HTTP figure is end to end: batches of 100 Segment messages over loopback to a real
``juncture serve`` in its own process, each answered only after its events are committed
(SQLite: WAL, synchronous=FULL unless $JUNCTURE_SQLITE_SYNCHRONOUS says otherwise). The
raw limit is the same rows inserted into a fresh database of the same kind with plain
``executemany`` and one transaction per 5,000 rows, measured in the same run. After the
load, the stored count is checked: every acknowledged event must be there exactly once.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import psycopg
import sqlalchemy as sa

from juncture.bench.loadgen import request_bytes, run_load
from juncture.core import messages
from juncture.core.events import Event
from juncture.settings import source_of
from juncture.store import dialects, migrate
from juncture.store.sql import SqlStore
from juncture.testing import ServerProcess

Echo = Callable[[str], None]
BATCH = 100
WRITE_KEY = "bench-write-key"


def make_batches(events: int, seed: int = 7) -> list[bytes]:
    """Realistic product-view batches (about 450 bytes an event) with random uuids."""
    rng = random.Random(seed)  # noqa: S311 - test data, not secrets
    start = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    batches = []
    for b in range(events // BATCH):
        batch = []
        for i in range(BATCH):
            n = b * BATCH + i
            pid = rng.randrange(5000)
            batch.append(
                {
                    "type": "track",
                    "event": "Product Viewed",
                    "messageId": str(uuid.UUID(int=rng.getrandbits(128))),
                    "anonymousId": f"anon-{rng.randrange(events // 20 + 1)}",
                    "timestamp": (start + dt.timedelta(milliseconds=n)).isoformat(),
                    "properties": {
                        "product_id": f"P{pid:05d}",
                        "sku": f"SKU-{pid}",
                        "name": f"Trail Runner {pid}",
                        "price": 89.95,
                        "category": "Women/Shoes/Running",
                        "currency": "EUR",
                    },
                    "context": {
                        "channel": "web",
                        "page": {"url": f"https://shop.example/p/{pid}"},
                        "userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0)",
                    },
                }
            )
        batches.append(orjson.dumps({"batch": batch, "sentAt": start.isoformat()}))
    return batches


def http_rate(url: str, batches: list[bytes], concurrency: int) -> dict[str, Any]:
    env = {"JUNCTURE_WRITE_KEYS": WRITE_KEY, "JUNCTURE_LOG_LEVEL": "warning"}
    with ServerProcess(url, env=env) as server:
        requests = [
            request_bytes("127.0.0.1", server.port, "/v1/batch", b, WRITE_KEY) for b in batches
        ]
        result = asyncio.run(run_load("127.0.0.1", server.port, requests, concurrency))
    ok = result.statuses.get(200, 0)
    return {
        "events_per_s": ok * BATCH / result.seconds,
        "seconds": result.seconds,
        "acknowledged_events": ok * BATCH,
        "statuses": {str(k): v for k, v in result.statuses.items()},
        "p50_ms": result.percentile(0.5) * 1000,
        "p99_ms": result.percentile(0.99) * 1000,
    }


def rows_of(batches: list[bytes]) -> list[Event]:
    now = dt.datetime.now(dt.UTC)
    events: list[Event] = []
    for body in batches:
        found, _ = messages.normalize(
            messages.parse_batch(body), source=source_of(WRITE_KEY), received_at=now
        )
        events.extend(found)
    return events


def raw_rate(url: str, events: list[Event]) -> float:
    store = SqlStore(url, sqlite_synchronous=os.environ.get("JUNCTURE_SQLITE_SYNCHRONOUS", "FULL"))
    migrate.upgrade(store.engine)
    pooled = store.engine.raw_connection()
    conn: Any = pooled.driver_connection
    sqlite = store.dialect == "sqlite"
    mark = "?" if sqlite else "%s"
    sql = (
        f"INSERT INTO events (seq, {dialects._EVENT_COLUMNS}) "  # noqa: S608
        f"VALUES ({','.join([mark] * 11)})"
    )
    rows = [_row(e, i + 1, sqlite) for i, e in enumerate(events)]
    started = time.perf_counter()
    for start in range(0, len(rows), 5000):
        cur = conn.cursor()
        cur.executemany(sql, rows[start : start + 5000])
        conn.commit()
        cur.close()
    seconds = time.perf_counter() - started
    pooled.close()
    store.close()
    return len(rows) / seconds


def _row(e: Event, seq: int, sqlite: bool) -> tuple[Any, ...]:
    row = dialects._sqlite_row(e) if sqlite else (e.seq, *dialects._pg_row(e))
    return (seq, *row[1:])


def stored_count(url: str) -> int:
    store = SqlStore(url)
    try:
        return store.count_events()
    finally:
        store.close()


@contextmanager
def scratch_postgres(base_url: str, name: str) -> Iterator[str]:
    admin = sa.make_url(SqlStore(base_url).url)
    conninfo = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    db = f"juncture_bench_{name}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    try:
        yield admin.set(database=db).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def bench_store(
    kind: str, urls: tuple[str, str], batches: list[bytes], concurrency: int, echo: Echo
) -> dict[str, Any]:
    http_url, raw_url = urls
    echo(
        f"[{kind}] HTTP: {len(batches) * BATCH} events in batches of {BATCH}, "
        f"{concurrency} connections ..."
    )
    http = http_rate(http_url, batches, concurrency)
    stored = stored_count(http_url)
    echo(f"[{kind}] raw executemany of the same rows ...")
    raw = raw_rate(raw_url, rows_of(batches))
    result = {
        **http,
        "stored_events": stored,
        "raw_rows_per_s": raw,
        "ratio": http["events_per_s"] / raw,
        "all_acknowledged_stored_once": stored == http["acknowledged_events"],
    }
    echo(
        f"[{kind}] http {http['events_per_s']:,.0f} events/s (p50 {http['p50_ms']:.1f} ms, "
        f"p99 {http['p99_ms']:.1f} ms per batch) | raw insert {raw:,.0f} rows/s | "
        f"ratio {result['ratio']:.2f} | stored {stored:,} of {http['acknowledged_events']:,} "
        f"acknowledged"
    )
    return result


def run(*, events: int, concurrency: int, postgres_url: str | None, echo: Echo) -> dict[str, Any]:
    batches = make_batches(events)
    results: dict[str, Any] = {
        "cores": os.cpu_count(),
        "events": len(batches) * BATCH,
        "batch": BATCH,
        "concurrency": concurrency,
    }
    with tempfile.TemporaryDirectory(prefix="juncture-bench-") as tmp:
        urls = (f"sqlite:///{Path(tmp) / 'http.db'}", f"sqlite:///{Path(tmp) / 'raw.db'}")
        results["sqlite"] = bench_store("sqlite", urls, batches, concurrency, echo)
    if postgres_url:
        with (
            scratch_postgres(postgres_url, "http") as h,
            scratch_postgres(postgres_url, "raw") as r,
        ):
            results["postgres"] = bench_store("postgres", (h, r), batches, concurrency, echo)
    return results
