"""``juncture bench decide``: on-site decision latency under a bounded loopback load.

A real ``juncture serve`` in its own process, on a fresh SQLite database. Set-up, not timed:
the retailer's tables go in through ``POST /v1/catalog/{kind}`` (``products`` products with
spec sheets and related lists, their stock in ``stores`` stores, reviews, loyalty tiers and
accounts, coupons, promotions, associates, a store event); ``visitors`` known visitors each
view three products (some again and again) and put one on their wish list, and every other
one adds a product to the cart.

Then ``requests`` decisions (``POST /v1/decide``, the visitors in turn, each asking one
placement of :data:`PLACEMENTS` in turn: the rule-based ``home`` and every touchpoint) over
``concurrency`` keep-alive connections as fast as they go (closed loop: decisions/s with
p50 and p99), and again paced at ``rate`` decisions/s (open loop: request ``n`` is due at
``n / rate`` s and its latency counts from then, so a server that falls behind shows it).
The raw limit is the same number of ``GET /healthz`` over the same connections to the same
server (the HTTP floor), measured in the same run; the ratio is decisions/s over floor
requests/s.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, Final

import orjson

from juncture.bench.ingest import WRITE_KEY
from juncture.bench.loadgen import LoadResult, request_bytes, run_load, run_paced
from juncture.core import proof
from juncture.core import touchpoints as tp
from juncture.testing import ServerProcess

Echo = Callable[[str], None]
HOST = "127.0.0.1"
ADMIN_TOKEN = "bench-admin-token"  # noqa: S105 - the bench's own scratch server
IDENTITY_SECRET = "bench-identity-secret"  # noqa: S105
PLACEMENTS: Final = ("home", *tp.TOUCHPOINTS)  # the rule-based placement, every touchpoint
STORES: Final = 20
STARTUP: Final = 120.0  # seconds a loaded machine may take to migrate and start the server
CATEGORIES: Final = ("Home > Kitchen > Kettles", "Home > Kitchen > Toasters",
                     "Sport > Running > Shoes", "Sport > Running > Watches")  # fmt: skip


def _product(i: int, products: int) -> dict[str, Any]:
    return {
        "id": f"P{i:05d}", "title": f"Product {i}", "brand": f"Brand{i % 7}",
        "product_type": CATEGORIES[i % len(CATEGORIES)], "price": f"{20 + i % 80}.00 EUR",
        "availability": "in stock", "link": f"https://shop.example/p/{i}",
        "product_detail": [
            {"section_name": "General", "attribute_name": "Weight", "attribute_value": f"{i} g"},
            {"section_name": "Power", "attribute_name": "Watts", "attribute_value": str(i % 3000)},
        ],
        "related_products": [f"P{(i + 1) % products:05d}"],
    }  # fmt: skip


def _feeds(products: int) -> list[tuple[str, str]]:
    """(kind, JSON lines) of the retailer's tables."""
    lines: dict[str, list[dict[str, Any]]] = {
        "products": [_product(i, products) for i in range(products)],
        "locations": [{"store_code": f"S{s}", "name": f"Store {s}", "latitude": 48 + s / 10,
                       "longitude": 11 + s / 10} for s in range(STORES)],
        "inventory": [{"store_code": f"S{s}", "id": f"P{i:05d}", "quantity": (i + s) % 6,
                       "pickup_method": "buy", "pickup_sla": "same day", "aisle": str(s)}
                      for i in range(products) for s in range(0, STORES, 4)],
        "reviews": [{"review_id": f"R{i}", "product_id": f"P{i % products:05d}",
                     "rating": 1 + i % 5} for i in range(products)],
        "loyalty_tiers": [{"tier": "silver", "threshold": 0}, {"tier": "gold", "threshold": 1000}],
        "loyalty": [{"customer_id": f"bench-user-{i}", "points": i} for i in range(0, 500, 5)],
        "coupons": [{"coupon_id": f"C{b}", "title": f"10% Brand{b}", "issuer": f"Brand{b}",
                     "issuer_kind": "supplier", "percent_off": 10, "brand": f"Brand{b}",
                     "store_code": "S0"} for b in range(7)],
        "promotions": [{"promotion_id": "run5", "long_title": "5 off running",
                        "money_off_amount": "5 EUR", "product_type": "Sport > Running"}],
        "associates": [{"associate_id": f"A{s}", "name": f"Associate {s}", "store_code": f"S{s}",
                        "skills": [CATEGORIES[s % len(CATEGORIES)]], "monday_hours": "09:00-17:00"}
                       for s in range(STORES)],
        "store_events": [{"event_id": "E1", "title": "Running clinic", "store_code": "S0",
                          "starts_at": (dt.datetime.now(dt.UTC) + dt.timedelta(days=2)).isoformat(),
                          "product_lines": ["Sport > Running"]}],
    }  # fmt: skip
    return [(kind, "\n".join(json.dumps(x) for x in rows)) for kind, rows in lines.items()]


def _setup_batches(visitors: int, products: int) -> list[bytes]:
    at = dt.datetime.now(dt.UTC).isoformat()
    messages: list[dict[str, Any]] = []

    def track(user: str, event: str, props: dict[str, Any]) -> None:
        messages.append({"type": "track", "event": event, "userId": user, "timestamp": at,
                         "properties": props})  # fmt: skip

    for i in range(visitors):
        user = f"bench-user-{i}"
        messages.append({"type": "page", "userId": user, "name": "Home", "timestamp": at})
        seen = [f"P{(i * 3 + k) % products:05d}" for k in range(3)]
        for n, pid in enumerate(seen):
            for _ in range(1 + (n == 0) * (i % 4)):  # the first again and again, for some
                track(user, "Product Viewed", {"product_id": pid, "price": 95.0})
        track(user, "Product Added to Wishlist", {"product_id": seen[1], "price": 95.0})
        if i % 2 == 0:
            props = {"product_id": seen[2], "name": "Trail Runner", "price": 89.95}
            track(user, "Product Added", {**props, "quantity": 1})
        if i % 3 == 0:
            messages.append({"type": "identify", "userId": user, "timestamp": at,
                             "traits": {"consent": {"location": True}}})  # fmt: skip
    return [orjson.dumps({"batch": messages[i : i + 100]}) for i in range(0, len(messages), 100)]


def _asked(user_id: str, placement: str, n: int, products: int) -> dict[str, Any]:
    """A known visitor's decision, with the hash the retailer's backend signs it with."""
    return {
        "userId": user_id,
        "userHash": proof.user_hash(IDENTITY_SECRET, user_id),
        "placement": placement,
        "productId": f"P{n % products:05d}",
        "storeCode": f"S{n % STORES}",
        "latitude": 48.0 + (n % STORES) / 10,
        "longitude": 11.0 + (n % STORES) / 10,
        "category": "Sport",
        "budget": 60,
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


def _set_up(port: int, visitors: int, products: int) -> None:
    for kind, body in _feeds(products):
        path = f"/v1/catalog/{kind}?format=jsonl"
        request = request_bytes(HOST, port, path, body.encode(), "", bearer=ADMIN_TOKEN)
        done = asyncio.run(run_load(HOST, port, [request], 1))
        if done.statuses.get(200, 0) != 1:
            raise RuntimeError(f"set-up of {kind} failed: {done.statuses}")
    setup = [
        request_bytes(HOST, port, "/v1/batch", b, WRITE_KEY)
        for b in _setup_batches(visitors, products)
    ]
    ready = asyncio.run(run_load(HOST, port, setup, 4))
    if ready.statuses.get(200, 0) != len(setup):
        raise RuntimeError(f"set-up failed: {ready.statuses}")


def run(
    *,
    visitors: int,
    requests: int,
    concurrency: int,
    rate: float = 1000.0,
    products: int = 2000,
    echo: Echo,
) -> dict[str, Any]:
    env = {
        "JUNCTURE_WRITE_KEYS": WRITE_KEY,
        "JUNCTURE_ADMIN_TOKEN": ADMIN_TOKEN,
        "JUNCTURE_LOG_LEVEL": "warning",
        "JUNCTURE_IDENTITY_SECRET": IDENTITY_SECRET,
        "JUNCTURE_ONSITE_CAP_PER_DAY": "1000000",
    }
    with tempfile.TemporaryDirectory(prefix="juncture-bench-") as tmp:
        server = ServerProcess(f"sqlite:///{Path(tmp) / 'decide.db'}", env=env)
        server.start(timeout=STARTUP)
        try:
            return _measure(server.port, (visitors, requests, concurrency, rate, products), echo)
        finally:
            server.stop()


def _measure(port: int, load: tuple[int, int, int, float, int], echo: Echo) -> dict[str, Any]:
    visitors, requests, concurrency, rate, products = load
    echo(f"[decide] set-up: {products:,} products in {STORES} stores, {visitors:,} visitors")
    _set_up(port, visitors, products)
    asks = [
        _asked(f"bench-user-{i % visitors}", PLACEMENTS[i % len(PLACEMENTS)], i, products)
        for i in range(requests)
    ]
    decide = [request_bytes(HOST, port, "/v1/decide", orjson.dumps(a), WRITE_KEY) for a in asks]
    floor = [request_bytes(HOST, port, "/healthz", b"", WRITE_KEY, method="GET")] * requests
    echo(f"[decide] {requests:,} decisions over {concurrency} connections ...")
    decided = _figures(asyncio.run(run_load(HOST, port, decide, concurrency)))
    echo(f"[decide] paced at {rate:,.0f} decisions/s ...")
    paced = _figures(asyncio.run(run_paced(HOST, port, decide, rate, concurrency)))
    raw = _figures(asyncio.run(run_load(HOST, port, floor, concurrency)))
    raw_paced = _figures(asyncio.run(run_paced(HOST, port, floor, rate, concurrency)))
    result = {
        "cores": os.cpu_count(),
        "visitors": visitors,
        "products": products,
        "requests": requests,
        "concurrency": concurrency,
        "placements": list(PLACEMENTS),
        "decide": decided,
        "paced": paced | {"rate": rate},
        "healthz_floor": raw,
        "healthz_paced": raw_paced | {"rate": rate},
        "ratio": decided["per_s"] / raw["per_s"],
    }
    _report(result, echo)
    return result


def _report(r: dict[str, Any], echo: Echo) -> None:
    d, p, raw, rp = r["decide"], r["paced"], r["healthz_floor"], r["healthz_paced"]
    echo(
        f"[decide] {d['per_s']:,.0f} decisions/s (p50 {d['p50_ms']:.1f} ms, p99 "
        f"{d['p99_ms']:.1f} ms; statuses {d['statuses']}) | paced at {p['rate']:,.0f}/s: p50 "
        f"{p['p50_ms']:.1f} ms, p99 {p['p99_ms']:.1f} ms | raw HTTP floor (GET /healthz) "
        f"{raw['per_s']:,.0f} requests/s (p50 {raw['p50_ms']:.1f} ms), paced at the same rate "
        f"p99 {rp['p99_ms']:.1f} ms | ratio {r['ratio']:.2f}"
    )
