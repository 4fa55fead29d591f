"""``GET /v1/recommendations`` over real HTTP on every store: shoppers tracked by Segment's
own Python client (Product Viewed, Product Added, Order Completed), the retailer's product
and inventory feeds, then each kind asked as a page and as the retailer's backend would."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from segment.analytics.client import Client

from juncture import wiring
from tests.conftest import (
    ADMIN,
    BASIC,
    WRITE_KEY,
    LiveServer,
    caught_up,
    settings_for,
    signed,
    slow_engine,
)
from tests.e2e.test_touchpoints_http import feed

PRODUCTS = (
    "id\ttitle\tdescription\tbrand\tproduct_type\tprice\tavailability\trelated_products\n"
    "tent\tTrail Tent\tTwo person tent for camping\tPeak\tOutdoor > Camping > Tents\t"
    "200.00 EUR\tin stock\tlamp\n"
    "pegs\tTent Pegs\tSteel pegs for any tent\tPeak\tOutdoor > Camping > Accessories\t"
    "10.00 EUR\tin stock\t\n"
    "lamp\tCamp Lamp\tBright lamp for the tent\tGlow\tOutdoor > Camping > Lights\t"
    "30.00 EUR\tin stock\t\n"
    "mug\tStone Mug\tA stone mug for tea\tAcme\tHome > Kitchen > Mugs\t5.00 EUR\tin stock\t\n"
    "k1\tSteel Kettle\tElectric kettle, 1.7 l, steel\tAcme\tHome > Kitchen > Kettles\t"
    "40.00 EUR\tin stock\t\n"
    "k2\tGlass Kettle\tElectric kettle, 1.7 l, glass\tBrew\tHome > Kitchen > Kettles\t"
    "45.00 EUR\tin stock\t\n"
    "tea\tGreen Tea\tLoose leaf green tea\tLeaf\tHome > Kitchen > Tea\t8.00 EUR\tin stock\t\n"
)
INVENTORY = "store_code,id,quantity\nberlin,pegs,0\nberlin,lamp,4\nberlin,tent,1\n"
LOCATIONS = json.dumps({"store_code": "berlin", "name": "Berlin"})
CAMPERS = ("c1", "c2", "c3", "c4")
COOKS = ("h1", "h2", "h3", "h4")


@pytest.fixture
def shop(database_url: str) -> Iterator[LiveServer]:
    settings = settings_for(database_url, recs_refresh=0.0)
    server = LiveServer(wiring.build(settings)).start()
    yield server
    server.stop()


def ask(live: LiveServer, kind: str, headers: Any = BASIC, **query: Any) -> httpx.Response:
    return httpx.get(
        f"{live.url}/v1/recommendations", params={"kind": kind, **query}, headers=headers
    )


def items(live: LiveServer, kind: str, **query: Any) -> list[dict[str, Any]]:
    r = ask(live, kind, **query)
    assert r.status_code == 200, r.text
    assert r.json()["recommendationId"].startswith(f"rec_{kind}_")
    return [{**i, "recommendationId": r.json()["recommendationId"]} for i in r.json()["items"]]


def order(client: Client, user: str, order_id: str, *products: str) -> None:
    listed = [{"product_id": p, "quantity": 1} for p in products]
    client.track(user, "Order Completed", {"order_id": order_id, "products": listed})


def track_shoppers(client: Client) -> None:
    for n, user in enumerate(CAMPERS):
        for product in ("tent", "pegs", "lamp"):
            client.track(user, "Product Viewed", {"product_id": product})
        order(client, user, f"oc{n}", "tent", "pegs")
    for n, user in enumerate(COOKS):
        for product in ("mug", "k1", "tea"):
            client.track(user, "Product Viewed", {"product_id": product})
        order(client, user, f"oh{n}", "mug", "tea")
    for _ in range(25):  # the lamp is looked at most (an order weighs five views)
        client.track("c1", "Product Viewed", {"product_id": "lamp"})


def opened(live: LiveServer) -> Client:
    """The products fed and the shoppers tracked; Segment's client, to send more."""
    feed(live, "products", PRODUCTS, "text/tab-separated-values")
    client = Client(WRITE_KEY, host=live.url, sync_mode=True)
    track_shoppers(client)
    client.flush()
    return client


def test_every_kind_over_http(shop: LiveServer, monkeypatch: pytest.MonkeyPatch) -> None:
    client = opened(shop)
    client.track("s1", "Product Viewed", {"product_id": "mug"})
    client.flush()
    caught_up(shop.juncture)  # the engine behind the log has applied the shoppers' events

    best = items(shop, "best_sellers")
    assert best[0]["productId"] == "lamp"
    assert (best[0]["kind"], best[0]["reason"]) == ("best_sellers", "popular now")
    assert items(shop, "best_sellers", category="Home")[0]["reason"] == "popular in Home"

    together = items(shop, "bought_together", productId="tent")
    assert [(i["productId"], i["reason"]) for i in together] == [("pegs", "bought with Trail Tent")]

    similar = items(shop, "similar", productId="k1")
    assert similar[0]["productId"] == "k2"
    assert similar[0]["reason"].startswith("similar to Steel Kettle: ")

    related = items(shop, "related", productId="tent")
    assert related[0] == {**related[0], "productId": "lamp", "reason": "goes with Trail Tent"}
    fallback = items(shop, "related", productId="mug")
    assert {i["productId"] for i in fallback} >= {"k1", "k2", "tea"}
    assert all(i["reason"] == "also in Kitchen" for i in fallback[:3])

    # A shopper who looked at a mug is answered from what the cooks did...
    who = {"userId": "s1", "userHash": signed("s1")}
    liked = items(shop, "people_like_you", **who)
    assert liked[0]["kind"] == "people_like_you"
    assert {i["productId"] for i in liked[:2]} == {"k1", "tea"}
    # ...and the tent viewed a second ago changes the answer before any training: the
    # page asks with ?consistent=true, so it waits for the engine (slow here) to apply it.
    slow_engine(monkeypatch, 0.5)
    client.track("s1", "Product Viewed", {"product_id": "tent"})
    client.track("s1", "Product Viewed", {"product_id": "tent"})
    client.flush()
    asked = ask(shop, "people_like_you", **who, consistent="true")
    assert asked.status_code == 200, asked.text
    assert asked.headers["Juncture-Caught-Up"] == "true"
    now = [i["productId"] for i in asked.json()["items"]]
    assert "pegs" in now[:3]
    assert "tent" not in now


def test_filters_identity_and_refusal(shop: LiveServer) -> None:
    for kind, body, media in (
        ("products", PRODUCTS, "text/tab-separated-values"),
        ("locations", LOCATIONS, "application/x-ndjson"),
        ("inventory", INVENTORY, "text/csv"),
    ):
        feed(shop, kind, body, media)
    client = Client(WRITE_KEY, host=shop.url, sync_mode=True)
    track_shoppers(client)
    client.identify("s2", {"consent": {"*": {"personalization": False}}})
    client.track("s2", "Product Viewed", {"product_id": "mug"})
    client.flush()
    caught_up(shop.juncture)  # s2's refusal and c1's views applied before they are asked

    # In stock at the store: the pegs are out there, the kitchen is not stocked there.
    assert [i["productId"] for i in items(shop, "best_sellers", storeCode="berlin")] == [
        "lamp",
        "tent",
    ]
    cheap = items(shop, "best_sellers", maxPrice=9)
    assert cheap and all(i["price"] <= 9 for i in cheap)

    # A userId without proof is nobody; with it, the shopper.
    r = ask(shop, "people_like_you", userId="c1")
    assert (r.json()["identity"], r.json()["personalised"]) == ("unverified", False)
    assert r.headers["Juncture-Identity"] == "unverified"
    r = ask(shop, "people_like_you", userId="c1", userHash=signed("c1"))
    assert (r.json()["identity"], r.json()["personalised"]) == ("verified", True)
    # The shopper who refused personalisation gets what anybody gets.
    r = ask(shop, "people_like_you", userId="s2", userHash=signed("s2"))
    body = r.json()
    assert body["personalised"] is False
    assert {i["kind"] for i in body["items"]} == {"best_sellers"}
    # The retailer's backend may name the user or the profile with the admin token.
    assert ask(shop, "people_like_you", headers=ADMIN, userId="c1").json()["personalised"]
    r = ask(shop, "people_like_you", profileId="x")
    assert r.status_code == 401, r.text
    r = ask(shop, "best_sellers", headers={})
    assert r.status_code == 401, r.text
    r = ask(shop, "everything")
    assert r.status_code == 400, r.text
    assert "kind" in r.text

    r = httpx.post(f"{shop.url}/v1/recommendations/train", headers=ADMIN)
    assert r.status_code == 200, r.text
    assert r.json()["trained"]["baskets"] == len(CAMPERS) + len(COOKS)
