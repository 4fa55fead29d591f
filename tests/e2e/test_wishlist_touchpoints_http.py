"""The wish list, gift and cart reminder touchpoints of ``POST /v1/decide`` over real HTTP on
every store: shoppers tracked by Segment's own Python client (``Product Added to
Wishlist``, ``Product Removed from Wishlist``, ``Product Added``); nothing answers before
the tables it needs are there, then each is answered from them, and the cart link rebuilds
the cart until it expires."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from segment.analytics.client import Client

from juncture import wiring
from juncture.runtime.clock import ManualClock
from tests.conftest import ADMIN, WRITE_KEY, LiveServer, caught_up, settings_for
from tests.e2e.test_touchpoints_http import decide, feed

PRODUCTS = (
    "id\ttitle\tbrand\tproduct_type\tprice\tavailability\taccessories\n"
    "k1\tSteel Kettle\tAcme\tHome > Kitchen > Kettles\t{k1} EUR\tin stock\tm1\n"
    "k2\tRed Kettle\tAcme\tHome > Kitchen > Kettles\t42.00 EUR\tin stock\t\n"
    "m1\tStone Mug\tAcme\tHome > Kitchen > Mugs\t5.00 EUR\tin stock\t\n"
    "t1\tToaster\tBrite\tHome > Kitchen > Toasters\t25.00 EUR\tin stock\t\n"
    "x1\tSold-out Pan\tBrite\tHome > Kitchen > Pans\t20.00 EUR\tout of stock\t\n"
    "s1\tSofa\tComfy\tHome > Living > Sofas\t30.00 EUR\tin stock\t\n"
)
LOCATIONS = (
    "store_code,name,latitude,longitude\nberlin,Berlin,52.52,13.405\nmunich,Munich,48.137,11.575\n"
)
INVENTORY = "store_code,id,quantity\nberlin,k1,4\nmunich,k1,9\n"
BERLIN: dict[str, Any] = {"latitude": 52.5, "longitude": 13.4}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(dt.datetime.now(dt.UTC).replace(microsecond=0))


@pytest.fixture
def shop(database_url: str, clock: ManualClock) -> Iterator[LiveServer]:
    settings = settings_for(database_url, onsite_cap_per_day=50)
    server = LiveServer(wiring.build(settings, clock=clock)).start()
    yield server
    server.stop()


def tables(live: LiveServer, k1: str = "40.00") -> None:
    feed(live, "products", PRODUCTS.format(k1=k1), "text/tab-separated-values")
    feed(live, "locations", LOCATIONS, "text/csv")
    feed(live, "inventory", INVENTORY, "text/csv")


def test_the_wish_list_with_prices_stock_nearby_and_what_completes_it(shop: LiveServer) -> None:
    client = Client(WRITE_KEY, host=shop.url, sync_mode=True)
    for pid, price in [("k1", 40.0), ("k2", 42.0)]:
        client.track(
            "s1",
            "Product Added to Wishlist",
            {"wishlist_id": "w1", "wishlist_name": "Kitchen", "product_id": pid, "price": price},
        )
    client.track("s1", "Product Removed from Wishlist", {"wishlist_id": "w1", "product_id": "k2"})
    client.flush()
    caught_up(shop.juncture)  # the engine behind the log has applied them
    assert decide(shop, "wishlist")["reason"] == "empty_wish_list"  # no products yet

    tables(shop, k1="35.00")
    listed = decide(shop, "wishlist", **BERLIN)["show"]
    (item,) = listed["data"]["items"]
    assert (item["product"]["id"], item["priceThen"], item["priceNow"]) == ("k1", 40.0, 35.0)
    assert item["cheaper"] and item["online"]
    assert (item["nearby"]["store"]["storeCode"], item["nearby"]["quantity"]) == ("berlin", 4)
    assert [s["id"] for s in listed["data"]["suggestions"]] == ["m1"]
    assert "Steel Kettle: 35.0 EUR (was 40.0), 4 at Berlin" in listed["text"]
    assert "Goes with it: Stone Mug" in listed["text"]

    r = httpx.get(f"{shop.url}/v1/wishlists/s1", headers=ADMIN)
    assert [i["productId"] for i in r.json()["items"]] == ["k1"]
    r = httpx.delete(f"{shop.url}/v1/wishlists/s1/items/k1", headers=ADMIN)
    assert r.status_code == 200, r.text
    assert decide(shop, "wishlist")["reason"] == "empty_wish_list"


def test_gifts_for_a_budget_and_category_the_recipients_shared_wish_list_first(
    shop: LiveServer,
) -> None:
    client = Client(WRITE_KEY, host=shop.url, sync_mode=True)
    client.track("s1", "Product Added to Wishlist", {"product_id": "t1", "price": 25.0})
    client.track("s1", "Product Added to Wishlist", {"product_id": "s1", "price": 30.0})
    client.flush()
    caught_up(shop.juncture)  # the engine behind the log has applied them
    ask = {"category": "Home > Kitchen", "budget": 30.0, "recipient": "s1"}
    assert decide(shop, "gift", user="s2", **ask)["reason"] == "no_gift_found"

    tables(shop)
    ideas = decide(shop, "gift", user="s2", **ask)
    assert ideas["reason"] == "gift_ideas"  # not shared: the category's in-stock products
    assert ideas["show"]["data"]["recipientWishList"] == "not_shared"
    assert [g["id"] for g in ideas["show"]["data"]["gifts"]] == ["t1", "m1"]  # dearest first

    r = httpx.put(f"{shop.url}/v1/wishlists/s1/sharing", json={"shared": True}, headers=ADMIN)
    assert r.status_code == 200, r.text
    shared = decide(shop, "gift", user="s2", **ask)
    assert shared["reason"] == "from_wish_list"
    gifts = shared["show"]["data"]["gifts"]
    assert [(g["id"], g["fromWishList"]) for g in gifts] == [("t1", True), ("m1", False)]
    assert "Toaster: 25.0 EUR (on their wish list)" in shared["show"]["text"]
    assert decide(shop, "gift", user="s2")["reason"] == "no_gift_criteria"


def test_the_cart_reminder_priced_now_and_a_link_that_rebuilds_the_cart(
    shop: LiveServer, clock: ManualClock
) -> None:
    client = Client(WRITE_KEY, host=shop.url, sync_mode=True)
    client.track("s1", "Product Added", {"product_id": "k1", "price": 40.0, "quantity": 2})
    client.flush()
    caught_up(shop.juncture)  # the engine behind the log has applied them
    assert decide(shop, "cart_reminder")["reason"] == "no_product"

    tables(shop, k1="35.00")
    shown = decide(shop, "cart_reminder")["show"]
    (line,) = shown["data"]["items"]
    assert (line["priceThen"], line["priceNow"], line["quantity"]) == (40.0, 35.0, 2)
    assert shown["data"]["total"] == 70.0
    link = shown["data"]["restoreUrl"]
    assert link.startswith("/v1/carts/restore/") and link in shown["html"]
    assert decide(shop, "cart_reminder")["reason"] == "already_shown"

    r = httpx.get(shop.url + link)  # no credentials: the signed token is the proof
    assert r.status_code == 200, r.text
    (item,) = r.json()["items"]
    assert (item["productId"], item["quantity"], item["product"]["currentPrice"]) == ("k1", 2, 35.0)
    tampered = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
    assert httpx.get(shop.url + tampered).json()["code"] == "unknown_link"
    clock.advance(dt.timedelta(days=8))
    r = httpx.get(shop.url + link)
    assert (r.status_code, r.json()["code"]) == (410, "link_expired")


def test_a_shoppers_wish_list_registrations_and_appointments_are_exported_and_erased(
    shop: LiveServer,
) -> None:
    client = Client(WRITE_KEY, host=shop.url, sync_mode=True)
    for user in ("s1", "s2"):
        client.track(user, "Product Added to Wishlist", {"product_id": "k1", "price": 40.0})
    client.flush()
    caught_up(shop.juncture)  # the engine behind the log has applied them
    tables(shop)
    event = '{"event_id": "e1", "title": "Tasting", "starts_at": "2099-01-01T10:00Z"}'
    feed(shop, "store_events", event, "application/x-ndjson")
    r = httpx.post(
        f"{shop.url}/v1/store-events/e1/registrations", json={"customerId": "s1"}, headers=ADMIN
    )
    assert r.status_code == 201, r.text
    assert decide(shop, "wishlist")["reason"] == "wish_list"  # folds the events into the table
    [found] = httpx.get(f"{shop.url}/v1/profiles", params={"userId": "s1"}, headers=ADMIN).json()[
        "profiles"
    ]
    pid = found["profileId"]
    exported = httpx.get(f"{shop.url}/v1/profiles/{pid}/export", headers=ADMIN).json()["tables"]
    assert exported["wish_list_items"][0]["product_id"] == "k1"
    assert exported["event_registrations"][0]["event_id"] == "e1"
    gone = httpx.delete(f"{shop.url}/v1/profiles/{pid}", params={"reference": "R"}, headers=ADMIN)
    assert gone.status_code == 200, gone.text
    assert httpx.get(f"{shop.url}/v1/wishlists/s1", headers=ADMIN).json()["items"] == []
    others = httpx.get(f"{shop.url}/v1/wishlists/s2", headers=ADMIN).json()["items"]
    assert [i["productId"] for i in others] == ["k1"]  # someone else's stays
