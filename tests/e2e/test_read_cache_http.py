"""The shopper-facing reads keep the retailer's tables in memory: over real HTTP on every
store, with the cache's time bound an hour (so only the writes can refresh it), a stock
level that drops, a price that changes and the shopper's own new event each change the
next answer at once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from segment.analytics.client import Client

from juncture import wiring
from tests.conftest import BASIC, WRITE_KEY, LiveServer, settings_for, signed
from tests.e2e.test_touchpoints_http import feed

PRODUCTS = (
    "id\ttitle\tbrand\tproduct_type\tprice\tavailability\n"
    "k1\tSteel Kettle\tAcme\tHome > Kitchen > Kettles\t{k1} EUR\tin stock\n"
    "k2\tRed Kettle\tAcme\tHome > Kitchen > Kettles\t42.00 EUR\tin stock\n"
)
LOCATIONS = "\n".join(
    json.dumps({"store_code": code, "name": code.title(), "latitude": lat, "longitude": lon})
    for code, lat, lon in [("berlin", 52.52, 13.405), ("munich", 48.137, 11.575)]
)
INVENTORY = "store_code,id,quantity,pickup_method,pickup_sla\nberlin,k1,{berlin},buy,same day\n"
INVENTORY += "munich,k1,9,buy,same day\nberlin,k2,3,buy,same day\nmunich,k2,3,buy,same day\n"


@pytest.fixture
def shop(database_url: str) -> Iterator[LiveServer]:
    settings = settings_for(
        database_url, onsite_cap_per_day=50, read_cache_seconds=3600.0,
        engine_mode="behind", engine_process=False,
    )  # fmt: skip
    server = LiveServer(wiring.build(settings)).start()
    yield server
    server.stop()


def decide(live: LiveServer, placement: str, consistent: bool = False, **body: Any) -> Any:
    r = httpx.post(
        f"{live.url}/v1/decide",
        params={"consistent": "true"} if consistent else {},
        json={"userId": "s1", "userHash": signed("s1"), "placement": placement, **body},
        headers=BASIC,
    )
    assert r.status_code == 200, r.text
    return r.json()


def test_cached_answers_follow_the_tables_and_the_shopper(shop: LiveServer) -> None:
    client = Client(WRITE_KEY, host=shop.url, sync_mode=True)
    client.track("s1", "Product Viewed", {"product_id": "k1"})
    client.flush()
    feed(shop, "products", PRODUCTS.format(k1="40.00"), "text/tab-separated-values")
    feed(shop, "locations", LOCATIONS, "application/x-ndjson")
    feed(shop, "inventory", INVENTORY.format(berlin=2), "text/csv")

    # Asked twice: the second answer is the cache's, and the same.
    for _ in range(2):
        here = decide(shop, "endless_aisle", productId="k1", storeCode="berlin")
        assert here["reason"] == "in_stock_here"
        gifts = decide(shop, "gift", category="Home", budget=41)["show"]["data"]["gifts"]
        assert [g["id"] for g in gifts] == ["k1"]

    # The stock in Berlin drops to nothing: the next answer sends the shopper to Munich.
    feed(shop, "inventory", INVENTORY.format(berlin=0), "text/csv")
    away = decide(shop, "endless_aisle", productId="k1", storeCode="berlin")
    assert away["reason"] == "out_of_stock_here"
    assert [s["store"]["storeCode"] for s in away["show"]["data"]["elsewhere"]] == ["munich"]

    # The price goes up past the budget, then the other kettle comes down within it.
    feed(shop, "products", PRODUCTS.format(k1="45.00"), "text/tab-separated-values")
    assert decide(shop, "gift", category="Home", budget=41)["reason"] == "no_gift_found"
    cheaper = PRODUCTS.format(k1="45.00").replace("42.00 EUR", "39.00 EUR")
    feed(shop, "products", cheaper, "text/tab-separated-values")
    gifts = decide(shop, "gift", category="Home", budget=41)["show"]["data"]["gifts"]
    assert [(g["id"], g["price"]) for g in gifts] == [("k2", 39.0)]

    # The shopper's own new event, read with ?consistent=true: the cart is there at once.
    assert decide(shop, "cart_reminder", consistent=True)["reason"] == "empty_cart"
    client.track("s1", "Product Added", {"product_id": "k2", "price": 39.0, "quantity": 1})
    client.flush()
    reminder = decide(shop, "cart_reminder", consistent=True)["show"]
    assert [i["product"]["id"] for i in reminder["data"]["items"]] == ["k2"]


@pytest.fixture
def recs_shop(database_url: str) -> Iterator[LiveServer]:
    settings = settings_for(database_url, read_cache_seconds=3600.0, recs_refresh=0.0)
    server = LiveServer(wiring.build(settings)).start()
    yield server
    server.stop()


def best(live: LiveServer, **query: Any) -> list[str]:
    r = httpx.get(
        f"{live.url}/v1/recommendations",
        params={"kind": "best_sellers", "userId": "s1", "userHash": signed("s1"), **query},
        headers=BASIC,
    )
    assert r.status_code == 200, r.text
    return [i["productId"] for i in r.json()["items"]]


def test_kept_recommendations_follow_orders_and_stock(recs_shop: LiveServer) -> None:
    feed(recs_shop, "products", PRODUCTS.format(k1="40.00"), "text/tab-separated-values")
    feed(recs_shop, "locations", LOCATIONS, "application/x-ndjson")
    feed(recs_shop, "inventory", INVENTORY.format(berlin=2), "text/csv")
    client = Client(WRITE_KEY, host=recs_shop.url, sync_mode=True)
    for n in range(3):
        client.track(f"b{n}", "Order Completed", {"order_id": f"o{n}", "products": [
            {"product_id": "k1", "quantity": 1}]})  # fmt: skip
    client.track("b9", "Order Completed", {"order_id": "o9", "products": [
        {"product_id": "k2", "quantity": 1}]})  # fmt: skip
    client.flush()
    assert best(recs_shop) == best(recs_shop) == ["k1", "k2"]
    assert best(recs_shop, storeCode="berlin") == ["k1", "k2"]

    # The kettle sells out in Berlin: the store's answer leaves it out at once.
    feed(recs_shop, "inventory", INVENTORY.format(berlin=0), "text/csv")
    assert best(recs_shop, storeCode="berlin") == ["k2"]

    # New orders of the other kettle: the best-sellers kept until now are read again.
    for n in range(5):
        client.track(f"c{n}", "Order Completed", {"order_id": f"p{n}", "products": [
            {"product_id": "k2", "quantity": 1}]})  # fmt: skip
    client.flush()
    assert best(recs_shop) == ["k2", "k1"]
