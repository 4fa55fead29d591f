"""``juncture bench recs``: recommendation serving latency, training time and memory.

A real ``juncture serve`` in its own process, on a fresh SQLite database, with the demo's
simulated retailer (``customers``, ``days``) sent through ``/v1/batch`` (not timed). Then:

- *training* from the stored events over the admin API (``POST /v1/recommendations/train``:
  reading the log, every model), its time, and the server's resident memory before and
  after;
- *serving*: ``requests`` of ``GET /v1/recommendations`` (people like you for verified
  shoppers, bought together and similar about products they ordered, in turn), first as
  fast as ``concurrency`` keep-alive connections go (closed loop), then paced at ``rate``
  requests/s (open loop: a late request's latency counts from when it was due, so a stall
  is not hidden), each with p50 and p99; the raw limit is the same number of ``GET
  /healthz`` over the same connections to the same server (the HTTP floor);
- *training at scale*, in this process: every model from ``interactions`` synthetic
  interactions (Zipf-distributed products, the simulated catalogue), its time and memory.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import tempfile
import time
import urllib.parse
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import httpx
import orjson

from juncture.bench.decide import IDENTITY_SECRET, _figures
from juncture.bench.ingest import WRITE_KEY
from juncture.bench.loadgen import request_bytes, run_load, run_paced
from juncture.core import proof
from juncture.recommend.interactions import Interaction, Item
from juncture.recommend.models import train
from juncture.sim.simulation import SimConfig, Simulation
from juncture.testing import ServerProcess

Echo = Callable[[str], None]
HOST = "127.0.0.1"
ADMIN = "bench-admin-token"
START = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
STARTUP = 120.0  # seconds a loaded machine may take to migrate and start the server


def _rss_mb(pid: int | str = "self") -> float:
    """Resident memory of a process, from /proc (Linux)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _simulated(customers: int, days: int) -> tuple[list[bytes], list[tuple[str, str]]]:
    """The simulation's messages as batches, and (user, product ordered) pairs to ask about."""
    sim = Simulation(SimConfig(start=START, customers=customers, days=days))
    messages = sim.advance(sim.end)
    batches = [orjson.dumps({"batch": messages[i : i + 100]}) for i in range(0, len(messages), 100)]
    ordered = [
        (m["userId"], p["product_id"])
        for m in messages
        if m.get("event") == "Order Completed" and m.get("userId")
        for p in m["properties"]["products"]
    ]
    return batches, ordered


def _asks(port: int, ordered: Sequence[tuple[str, str]], requests: int) -> list[bytes]:
    kinds = ("people_like_you", "bought_together", "similar")
    found = []
    for n in range(requests):
        user, product = ordered[n % len(ordered)]
        query = {"kind": kinds[n % 3], "userId": user, "n": "10"}
        query |= {"userHash": proof.user_hash(IDENTITY_SECRET, user)}
        if n % 3:
            query["productId"] = product
        path = "/v1/recommendations?" + urllib.parse.urlencode(query)
        found.append(request_bytes(HOST, port, path, b"", WRITE_KEY, method="GET"))
    return found


def _serve(
    customers: int, days: int, requests: int, concurrency: int, *, rate: float, echo: Echo
) -> dict[str, Any]:
    env = {
        "JUNCTURE_WRITE_KEYS": WRITE_KEY,
        "JUNCTURE_ADMIN_TOKEN": ADMIN,
        "JUNCTURE_LOG_LEVEL": "warning",
        "JUNCTURE_IDENTITY_SECRET": IDENTITY_SECRET,
        "JUNCTURE_RECS_TRAIN_EVERY": "0",  # trained when the bench says
    }
    batches, ordered = _simulated(customers, days)
    with tempfile.TemporaryDirectory(prefix="juncture-bench-") as tmp:
        server = ServerProcess(f"sqlite:///{Path(tmp) / 'recs.db'}", env=env)
        try:
            server.start(timeout=STARTUP)
            return _measure(server, batches, ordered, (requests, concurrency, rate), echo)
        finally:
            server.stop()


def _measure(
    server: ServerProcess,
    batches: list[bytes],
    ordered: list[tuple[str, str]],
    load: tuple[int, int, float],
    echo: Echo,
) -> dict[str, Any]:
    requests, concurrency, rate = load
    port = server.port
    echo(f"[recs] set-up: the simulated retailer, {len(batches) * 100:,} messages or so ...")
    setup = [request_bytes(HOST, port, "/v1/batch", b, WRITE_KEY) for b in batches]
    ready = asyncio.run(run_load(HOST, port, setup, 4))
    if ready.statuses.get(200, 0) != len(setup):
        raise RuntimeError(f"set-up failed: {ready.statuses}")
    trained = _train(server)
    echo(f"[recs] {requests:,} recommendations over {concurrency} connections ...")
    asks = _asks(port, ordered, requests)
    closed = _figures(asyncio.run(run_load(HOST, port, asks, concurrency)))
    paced = _figures(asyncio.run(run_paced(HOST, port, asks, rate, concurrency)))
    floor = [request_bytes(HOST, port, "/healthz", b"", WRITE_KEY, method="GET")] * requests
    raw = _figures(asyncio.run(run_load(HOST, port, floor, concurrency)))
    raw_paced = _figures(asyncio.run(run_paced(HOST, port, floor, rate, concurrency)))
    return {"training": trained, "closed_loop": closed, "paced": paced | {"rate": rate},
            "healthz_floor": raw, "healthz_paced": raw_paced | {"rate": rate},
            "ratio": closed["per_s"] / raw["per_s"]}  # fmt: skip


def _train(server: ServerProcess) -> dict[str, Any]:
    """Training over the admin API: its time, what it learnt, the server's memory."""
    pid = server.proc.pid if server.proc else "self"
    before = _rss_mb(pid)
    clock = time.perf_counter()
    bearer = {"Authorization": f"Bearer {ADMIN}"}
    r = httpx.post(f"{server.url}/v1/recommendations/train", headers=bearer, timeout=600)
    r.raise_for_status()
    took = time.perf_counter() - clock
    return {"seconds": took, **r.json()["trained"], "server_rss_mb_before": before,
            "server_rss_mb_after": _rss_mb(pid)}  # fmt: skip


def _synthetic(interactions: int, items: Sequence[Item]) -> list[Interaction]:
    """Shoppers (one per 25 interactions) touching Zipf-popular products over 30 days."""
    rng = random.Random(7)  # noqa: S311 - a repeatable workload, not a secret
    weights = [1 / (n + 1) for n in range(len(items))]
    picked = rng.choices(items, weights, k=interactions)
    users = max(1, interactions // 25)
    actions = ("view", "view", "view", "cart", "order")
    return [
        Interaction(f"u{rng.randrange(users)}", item.id, rng.choice(actions),
                    START + dt.timedelta(seconds=n * 2_592_000 / interactions),
                    basket=f"b{n // 3}", category=item.category)
        for n, item in enumerate(picked)
    ]  # fmt: skip


def _at_scale(interactions: int, echo: Echo) -> dict[str, Any]:
    sim = Simulation(SimConfig(start=START, customers=10, days=2))
    items = [
        Item(p.product_id, p.name, p.description, p.category, p.brand, p.price)
        for p in sim.catalog.products
    ]
    log = _synthetic(interactions, items)
    echo(f"[recs] training on {interactions:,} synthetic interactions in process ...")
    before = _rss_mb()
    clock = time.perf_counter()
    models = train(log, {i.id: i for i in items})
    took = time.perf_counter() - clock
    return {"interactions": interactions, "seconds": took, "rss_mb_before": before,
            "rss_mb_after": _rss_mb(), **models.summary()}  # fmt: skip


def run(
    *,
    customers: int,
    days: int,
    requests: int,
    concurrency: int,
    rate: float,
    interactions: int,
    echo: Echo,
) -> dict[str, Any]:
    served = _serve(customers, days, requests, concurrency, rate=rate, echo=echo)
    scale = _at_scale(interactions, echo) if interactions else None
    result = {"cores": os.cpu_count(), "customers": customers, "days": days,
              "requests": requests, "concurrency": concurrency, **served,
              "at_scale": scale}  # fmt: skip
    _report(result, echo)
    return result


def _report(r: dict[str, Any], echo: Echo) -> None:
    t, c, p, f = r["training"], r["closed_loop"], r["paced"], r["healthz_floor"]
    echo(
        f"[recs] training on the demo's data ({t['interactions']:,} interactions, "
        f"{t['shoppers']:,} shoppers, {t['products']} products): {t['seconds']:.2f} s; server "
        f"memory {t['server_rss_mb_before']:.0f} -> {t['server_rss_mb_after']:.0f} MB"
    )
    echo(
        f"[recs] closed loop {c['per_s']:,.0f} recommendations/s (p50 {c['p50_ms']:.1f} ms, "
        f"p99 {c['p99_ms']:.1f} ms; {c['statuses']}) | paced at {p['rate']:,.0f}/s: p50 "
        f"{p['p50_ms']:.1f} ms, p99 {p['p99_ms']:.1f} ms | raw HTTP floor (GET /healthz) "
        f"{f['per_s']:,.0f} requests/s (p50 {f['p50_ms']:.1f} ms), paced at the same rate p99 "
        f"{r['healthz_paced']['p99_ms']:.1f} ms | ratio {r['ratio']:.2f}"
    )
    if (s := r["at_scale"]) is not None:
        echo(
            f"[recs] training on {s['interactions']:,} interactions in process: "
            f"{s['seconds']:.1f} s; memory {s['rss_mb_before']:.0f} -> {s['rss_mb_after']:.0f} MB"
        )
