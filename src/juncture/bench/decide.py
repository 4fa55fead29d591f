"""``juncture bench decide``: on-site decision latency under a bounded loopback load.

A real ``juncture serve`` in its own process, on a fresh SQLite database. Set-up, not timed:
``visitors`` known visitors each send a page view, and every other one adds a product to
the cart (so that decisions render the cart-recovery popover and record an impression).
Then ``requests`` decisions (``POST /v1/decide``, placement ``home``, the visitors in turn)
over ``concurrency`` keep-alive connections: decisions/s with p50 and p99 latency. The raw
limit is the same number of ``GET /healthz`` over the same connections to the same server
(the HTTP floor), measured in the same run; the ratio is decisions/s over floor requests/s.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson

from juncture.bench.ingest import WRITE_KEY
from juncture.bench.loadgen import LoadResult, request_bytes, run_load
from juncture.core import proof
from juncture.testing import ServerProcess

Echo = Callable[[str], None]
HOST = "127.0.0.1"


def _setup_batches(visitors: int) -> list[bytes]:
    at = dt.datetime.now(dt.UTC).isoformat()
    messages: list[dict[str, Any]] = []
    for i in range(visitors):
        user = f"bench-user-{i}"
        messages.append({"type": "page", "userId": user, "name": "Home", "timestamp": at})
        if i % 2 == 0:
            props = {"product_id": f"P{i:05d}", "name": "Trail Runner", "price": 89.95}
            messages.append(
                {"type": "track", "event": "Product Added", "userId": user, "timestamp": at}
                | {"properties": {**props, "quantity": 1}, "messageId": f"bench-add-{i}"}
            )
    return [orjson.dumps({"batch": messages[i : i + 100]}) for i in range(0, len(messages), 100)]


IDENTITY_SECRET = "bench-identity-secret"  # noqa: S105 - the bench's own scratch server


def _asked(user_id: str) -> dict[str, str]:
    """A known visitor's decision, with the hash the retailer's backend signs it with."""
    return {
        "userId": user_id,
        "userHash": proof.user_hash(IDENTITY_SECRET, user_id),
        "placement": "home",
    }


def _figures(result: LoadResult) -> dict[str, Any]:
    ok = result.statuses.get(200, 0)
    return {
        "per_s": ok / result.seconds,
        "ok": ok,
        "statuses": {str(k): v for k, v in result.statuses.items()},
        "p50_ms": result.percentile(0.5) * 1000,
        "p99_ms": result.percentile(0.99) * 1000,
    }


def run(*, visitors: int, requests: int, concurrency: int, echo: Echo) -> dict[str, Any]:
    env = {
        "JUNCTURE_WRITE_KEYS": WRITE_KEY,
        "JUNCTURE_LOG_LEVEL": "warning",
        "JUNCTURE_IDENTITY_SECRET": IDENTITY_SECRET,
    }
    with (
        tempfile.TemporaryDirectory(prefix="juncture-bench-") as tmp,
        ServerProcess(f"sqlite:///{Path(tmp) / 'decide.db'}", env=env) as server,
    ):
        port = server.port
        echo(f"[decide] set-up: {visitors:,} visitors, half with a cart ...")
        setup = [
            request_bytes(HOST, port, "/v1/batch", b, WRITE_KEY) for b in _setup_batches(visitors)
        ]
        ready = asyncio.run(run_load(HOST, port, setup, 4))
        if ready.statuses.get(200, 0) != len(setup):
            raise RuntimeError(f"set-up failed: {ready.statuses}")
        decide = [
            request_bytes(
                HOST,
                port,
                "/v1/decide",
                orjson.dumps(_asked(f"bench-user-{i % visitors}")),
                WRITE_KEY,
            )
            for i in range(requests)
        ]
        floor = [request_bytes(HOST, port, "/healthz", b"", WRITE_KEY, method="GET")] * requests
        echo(f"[decide] {requests:,} decisions over {concurrency} connections ...")
        decided = _figures(asyncio.run(run_load(HOST, port, decide, concurrency)))
        raw = _figures(asyncio.run(run_load(HOST, port, floor, concurrency)))
    result = {
        "cores": os.cpu_count(),
        "visitors": visitors,
        "requests": requests,
        "concurrency": concurrency,
        "decide": decided,
        "healthz_floor": raw,
        "ratio": decided["per_s"] / raw["per_s"],
    }
    echo(
        f"[decide] {decided['per_s']:,.0f} decisions/s (p50 {decided['p50_ms']:.1f} ms, "
        f"p99 {decided['p99_ms']:.1f} ms; statuses {decided['statuses']}) | raw HTTP floor "
        f"(GET /healthz) {raw['per_s']:,.0f} requests/s (p50 {raw['p50_ms']:.1f} ms) | "
        f"ratio {result['ratio']:.2f}"
    )
    return result
