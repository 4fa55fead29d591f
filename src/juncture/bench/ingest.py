"""``juncture bench ingest``: tracking events/s over HTTP against raw inserts.

The HTTP figure is end to end: batches of 100 Segment messages over loopback to a real
``juncture serve`` in its own process, each answered only after its events are committed
(SQLite: WAL, synchronous=FULL unless $JUNCTURE_SQLITE_SYNCHRONOUS says otherwise). It is
measured on fresh databases in each mode of :data:`MODES`: ingest only
(``JUNCTURE_ENGINE=false``), the engine behind the log (``juncture engine`` beside the
server: then also the rate at which the engine applied the load, its CPU per event, and its
lag under a steady load at half that rate) and the engine inline (identity, profile,
signals, stage and timers in the events' transaction). The raw limit is the same rows
inserted into a fresh database of the same kind with plain ``executemany`` and one
transaction per 5,000 rows, measured in the same run. After each load the stored count is
checked: every acknowledged event must be there exactly once (derived events, such as
signals, are counted apart) and, with an engine, applied.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import math
import os
import random
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson

from juncture.bench.loadgen import request_bytes, run_load
from juncture.core import messages
from juncture.core.events import Event
from juncture.settings import source_of
from juncture.store import raw_limits, scratch, tallies
from juncture.store.sql import SqlStore
from juncture.testing import ServerProcess

Echo = Callable[[str], None]
BATCH = 100
WRITE_KEY = "bench-write-key"


def default_shoppers(events: int) -> int:
    """The bench's anonymous visitors: one per 20 events, so about 20 views each."""
    return events // 20 + 1


def viewed(pid: int) -> dict[str, Any]:
    """The properties of a ``Product Viewed`` of product ``pid`` (Segment's fields)."""
    return {
        "product_id": f"P{pid:05d}",
        "sku": f"SKU-{pid}",
        "name": f"Trail Runner {pid}",
        "price": 89.95,
        "category": "Women/Shoes/Running",
        "currency": "EUR",
    }


def make_batches(events: int, seed: int = 7, shoppers: int | None = None) -> list[bytes]:
    """Realistic product-view batches (about 450 bytes an event) with random uuids, from
    ``shoppers`` anonymous visitors (:func:`default_shoppers` when None)."""
    visitors = shoppers if shoppers is not None else default_shoppers(events)
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
                    "anonymousId": f"anon-{rng.randrange(visitors)}",
                    "timestamp": (start + dt.timedelta(milliseconds=n)).isoformat(),
                    "properties": viewed(pid),
                    "context": {
                        "channel": "web",
                        "page": {"url": f"https://shop.example/p/{pid}"},
                        "userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0)",
                    },
                }
            )
        batches.append(orjson.dumps({"batch": batch, "sentAt": start.isoformat()}))
    return batches


def http_rate(
    url: str, batches: list[bytes], concurrency: int, mode: Mapping[str, str]
) -> dict[str, Any]:
    env = {"JUNCTURE_WRITE_KEYS": WRITE_KEY, "JUNCTURE_LOG_LEVEL": "warning", **mode}
    behind: dict[str, Any] = {}
    with ServerProcess(url, env=env) as server:
        requests = [
            request_bytes("127.0.0.1", server.port, "/v1/batch", b, WRITE_KEY) for b in batches
        ]
        assert server.proc is not None
        engines = engine_processes(server) if mode.get("JUNCTURE_ENGINE_MODE") == "behind" else []
        engine_before = sum(cpu_seconds(p) for p in engines)
        cpu_before = cpu_seconds(server.proc.pid)
        started = time.perf_counter()
        result = asyncio.run(run_load("127.0.0.1", server.port, requests, concurrency))
        cpu = cpu_seconds(server.proc.pid) - cpu_before
        commits = commit_sizes(server.url)
        if engines:
            acknowledged = result.statuses.get(200, 0) * BATCH
            behind = engine_behind(server, engines, engine_before, started, acknowledged)
    ok = result.statuses.get(200, 0)
    return {
        **behind,
        "events_per_s": ok * BATCH / result.seconds,
        # The server's CPU time per acknowledged event: steadier than the rate on a
        # shared machine, where other processes take cores away.
        "server_cpu_us_per_event": cpu / max(ok * BATCH, 1) * 1e6,
        "seconds": result.seconds,
        "acknowledged_events": ok * BATCH,
        "statuses": {str(k): v for k, v in result.statuses.items()},
        "p50_ms": result.percentile(0.5) * 1000,
        "p99_ms": result.percentile(0.99) * 1000,
        # What group commit made of the load: events per transaction (fewer, larger
        # commits pay the fsync and the per-commit reads less often per event).
        "commits": commits[1],
        "events_per_commit": commits[0] / max(commits[1], 1),
    }


def engine_processes(server: ServerProcess) -> list[int]:
    """The server's engine process, once it applies the log (at most DRAIN_LIMIT s)."""
    assert server.proc is not None
    deadline = time.monotonic() + DRAIN_LIMIT
    while not metric(server.url, "juncture_engine_up") and time.monotonic() < deadline:
        time.sleep(0.1)
    return children(server.proc.pid)


def engine_behind(
    server: ServerProcess, engines: list[int], cpu_before: float, started: float, acknowledged: int
) -> dict[str, Any]:
    """With the engine behind the log: how long it took to apply the whole load (its
    sustained rate), its CPU per event from the load's start (``cpu_before`` of the
    ``engines`` processes then), and its lag under a steady load at half that rate."""
    drain(server)
    seconds = time.perf_counter() - started
    rate = acknowledged / seconds
    engine_cpu = sum(cpu_seconds(p) for p in engines) - cpu_before
    lag, steady = steady_lag(server, rate * STEADY_SHARE)
    drain(server)  # the steady phase's last events too, before the server stops
    return {
        "engine_events_per_s": rate,
        "engine_cpu_us_per_event": engine_cpu / max(acknowledged, 1) * 1e6,
        "steady_events_per_s": rate * STEADY_SHARE,
        "steady_acknowledged_events": steady,
        "lag_p50_s": percentile(lag, 0.5),
        "lag_p99_s": percentile(lag, 0.99),
        "lag_samples": len(lag),
    }


def drain(server: ServerProcess) -> None:
    """Wait until the engine has applied everything acknowledged (at most DRAIN_LIMIT s)."""
    deadline = time.monotonic() + DRAIN_LIMIT
    while metric(server.url, "juncture_engine_lag_events") and time.monotonic() < deadline:
        time.sleep(0.05)


DRAIN_LIMIT = 900.0  # seconds the engine gets to apply the load before the bench goes on
STEADY_SHARE = 0.5  # the steady load, as a share of the engine's sustained rate
STEADY_SECONDS = 10.0
STEADY_CONNECTIONS = 4


def steady_lag(server: ServerProcess, rate: float) -> tuple[list[float], int]:
    """``juncture_engine_lag_seconds`` every 0.1 s while clients send ``rate`` events/s
    (batches of 100, each posted on time by one of a few connections) for
    :data:`STEADY_SECONDS`, and how many events were acknowledged."""
    batches = make_batches(int(rate * STEADY_SECONDS) // BATCH * BATCH + BATCH, seed=11)
    every = BATCH / rate
    samples: list[float] = []
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.1):
            samples.append(metric(server.url, "juncture_engine_lag_seconds"))

    def post(client: httpx.Client, body: bytes) -> int:
        answer = client.post(
            f"{server.url}/v1/batch", content=body, headers={"Content-Type": "application/json"}
        )
        return BATCH if answer.status_code == 200 else 0

    sampler = threading.Thread(target=sample, daemon=True)
    with (
        httpx.Client(auth=(WRITE_KEY, ""), timeout=30) as client,
        concurrent.futures.ThreadPoolExecutor(STEADY_CONNECTIONS) as pool,
    ):
        sampler.start()
        began = time.perf_counter()
        sent = []
        for index, body in enumerate(batches):
            time.sleep(max(0.0, began + index * every - time.perf_counter()))
            sent.append(pool.submit(post, client, body))
        acknowledged = sum(f.result() for f in sent)
        done.set()
        sampler.join()
    return samples, acknowledged


def percentile(values: Sequence[float], share: float) -> float:
    """The smallest value at or above ``share`` of ``values`` (0 when there are none)."""
    ordered = sorted(values)
    if not ordered:
        return 0.0
    return ordered[min(len(ordered) - 1, max(0, math.ceil(share * len(ordered)) - 1))]


def metric(base_url: str, name: str) -> float:
    """One unlabelled gauge or counter from the server's ``/metrics``."""
    for line in httpx.get(f"{base_url}/metrics", timeout=10).text.splitlines():
        if line.startswith(f"{name} "):
            return float(line.split()[1])
    return 0.0


def children(pid: int) -> list[int]:
    """The child processes of ``pid`` (the engine process, when it runs apart)."""
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        found.extend(int(c) for c in (task / "children").read_text().split())
    return found


def commit_sizes(base_url: str) -> tuple[float, float]:
    """(events, commits) of the server's group commits so far, from its ``/metrics``."""
    text = httpx.get(f"{base_url}/metrics", timeout=10).text
    found = {"sum": 0.0, "count": 0.0}
    for line in text.splitlines():
        for part in found:
            if line.startswith(f"juncture_commit_events_{part} "):
                found[part] = float(line.split()[1])
    return found["sum"], found["count"]


def cpu_seconds(pid: int) -> float:
    """User plus system CPU seconds of a process so far (Linux /proc; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
    """The raw limit: ``events`` inserted by plain ``executemany`` into a fresh store at
    ``url``, 5,000 rows per transaction (:func:`juncture.store.raw_limits.insert_events`)."""
    store = SqlStore(url, sqlite_synchronous=os.environ.get("JUNCTURE_SQLITE_SYNCHRONOUS", "FULL"))
    try:
        store.migrate()
        return raw_limits.insert_events(store, events)
    finally:
        store.close()


def unapplied_count(url: str) -> int:
    """Events from the bench's source that the engine has not applied."""
    store = SqlStore(url)
    try:
        return tallies.unapplied(store, source_of(WRITE_KEY))
    finally:
        store.close()


def stored_counts(url: str) -> tuple[int, int]:
    """(events stored from the bench's source, events stored in all)."""
    store = SqlStore(url)
    try:
        return tallies.events_from(store, source_of(WRITE_KEY))
    finally:
        store.close()


# The server's settings in each mode: the engine in each ingestion commit, behind the log
# (in a process of its own), or no engine at all.
MODES: dict[str, dict[str, str]] = {
    "engine": {"JUNCTURE_ENGINE": "true", "JUNCTURE_ENGINE_MODE": "inline"},
    "engine_behind": {"JUNCTURE_ENGINE": "true", "JUNCTURE_ENGINE_MODE": "behind"},
    "ingest_only": {"JUNCTURE_ENGINE": "false"},
}


def bench_store(
    kind: str,
    urls: Callable[[str], AbstractContextManager[str]],
    batches: list[bytes],
    *,
    concurrency: int,
    modes: Sequence[str],
    echo: Echo,
) -> dict[str, Any]:
    """Raw limit first, then each mode over HTTP, each on a fresh database from ``urls``."""
    echo(f"[{kind}] raw executemany of {len(batches) * BATCH:,} rows ...")
    with urls("raw") as raw_url:
        raw = raw_rate(raw_url, rows_of(batches))
    result: dict[str, Any] = {"raw_rows_per_s": raw}
    for mode in modes:
        echo(
            f"[{kind}] HTTP, {mode.replace('_', ' ')}: {len(batches) * BATCH:,} events in "
            f"batches of {BATCH}, {concurrency} connections ..."
        )
        with urls(mode) as url:
            http = http_rate(url, batches, concurrency, MODES[mode])
            ours, every = stored_counts(url)
            unapplied = unapplied_count(url) if mode != "ingest_only" else 0
        acknowledged = http["acknowledged_events"] + http.get("steady_acknowledged_events", 0)
        result[mode] = {
            "unapplied_events": unapplied,
            **http,
            "stored_events": ours,
            "derived_events": every - ours,
            "raw_rows_per_s": raw,
            "ratio": http["events_per_s"] / raw,
            "all_acknowledged_stored_once": ours
            == http["acknowledged_events"] + http.get("steady_acknowledged_events", 0),
        }
        echo(
            f"[{kind}] {mode.replace('_', ' '):>11}: http {http['events_per_s']:,.0f} events/s "
            f"(p50 {http['p50_ms']:.1f} ms, p99 {http['p99_ms']:.1f} ms per batch, server CPU "
            f"{http['server_cpu_us_per_event']:.0f} us/event, "
            f"{http['events_per_commit']:,.0f} events/commit) | raw insert "
            f"{raw:,.0f} rows/s | ratio {http['events_per_s'] / raw:.2f} | stored {ours:,} of "
            f"{acknowledged:,} acknowledged (+{every - ours:,} derived)"
        )
        if "engine_events_per_s" in http:
            ingest_only = result.get("ingest_only", {}).get("events_per_s")
            share = (
                f" | {http['events_per_s'] / ingest_only:.2f} of ingest only"
                if (ingest_only)
                else ""
            )
            echo(
                f"[{kind}] {'behind':>11}: engine applied the load at "
                f"{http['engine_events_per_s']:,.0f} events/s (engine CPU "
                f"{http['engine_cpu_us_per_event']:.0f} us/event), {unapplied:,} unapplied; "
                f"lag at {http['steady_events_per_s']:,.0f} events/s: p50 "
                f"{http['lag_p50_s']:.2f} s, p99 {http['lag_p99_s']:.2f} s{share}"
            )
    return result


def run(
    *,
    events: int,
    concurrency: int,
    postgres_url: str | None,
    echo: Echo,
    modes: Sequence[str] = ("ingest_only", "engine_behind", "engine"),
) -> dict[str, Any]:
    batches = make_batches(events)
    results: dict[str, Any] = {
        "cores": os.cpu_count(),
        "events": len(batches) * BATCH,
        "batch": BATCH,
        "concurrency": concurrency,
        "sqlite_synchronous": os.environ.get("JUNCTURE_SQLITE_SYNCHRONOUS", "FULL"),
    }
    with tempfile.TemporaryDirectory(prefix="juncture-bench-") as tmp:

        @contextmanager
        def sqlite_url(name: str) -> Iterator[str]:
            yield f"sqlite:///{Path(tmp) / name}.db"

        results["sqlite"] = bench_store(
            "sqlite", sqlite_url, batches, concurrency=concurrency, modes=modes, echo=echo
        )
    if postgres_url:

        def pg_url(name: str) -> AbstractContextManager[str]:
            return scratch.postgres(postgres_url, name)

        results["postgres"] = bench_store(
            "postgres", pg_url, batches, concurrency=concurrency, modes=modes, echo=echo
        )
    return results
