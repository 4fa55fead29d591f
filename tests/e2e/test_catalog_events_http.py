"""Catalogue changes as events, over real HTTP on every store: a shopper tracked by
Segment's Python client views two kettles; a feed drops one's price and brings the other
back in stock; each becomes an event for that shopper (once, however often the feed comes
again), and journeys triggered by them send real emails through an SMTP server."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from segment.analytics.client import Client

from tests.conftest import ADMIN, WRITE_KEY, LiveServer, caught_up, mail_server
from tests.e2e.test_catalog_http import upload
from tests.servers import SmtpSink

FEED = (
    "id\ttitle\tprice\tavailability\tlink\n"
    "k1\tSteel Kettle\t{k1} EUR\tin stock\thttps://shop.example/k1\n"
    "k2\tRed Kettle\t42.00 EUR\t{k2}\thttps://shop.example/k2\n"
)
JOURNEYS = [
    "id: price_drop_mail\nversion: 1\nname: Price drop\nnodes:\n"
    "  - {id: dropped, type: trigger, event: Product Price Dropped, next: mail}\n"
    "  - {id: mail, type: send, channel: email, template: price_drop, next: done}\n"
    "  - {id: done, type: exit}\n",
    "id: back_in_stock_mail\nversion: 1\nname: Back in stock\nnodes:\n"
    "  - {id: back, type: trigger, event: Product Back In Stock, next: mail}\n"
    "  - {id: mail, type: send, channel: email, template: back_in_stock, next: done}\n"
    "  - {id: done, type: exit}\n",
]


@pytest.fixture
def shop(database_url: str) -> Iterator[tuple[LiveServer, SmtpSink]]:
    with mail_server(database_url) as running:
        yield running


def test_price_drop_and_back_in_stock_reach_the_shopper_by_email(
    shop: tuple[LiveServer, SmtpSink],
) -> None:
    live, sink = shop
    api = httpx.Client(base_url=live.url)
    yaml = {**ADMIN, "Content-Type": "application/yaml"}
    for journey in JOURNEYS:
        assert api.post("/v1/journeys", content=journey, headers=yaml).status_code == 201
    feed = FEED.format(k1="40.00", k2="out of stock")
    assert upload(api, "products", feed, "text/tab-separated-values").json()["announced"] == 0

    client = Client(WRITE_KEY, host=live.url, sync_mode=True)
    consent = {"email": {"marketing": True}}
    client.identify("s1", {"email": "s1@example.com", "first_name": "Sam", "consent": consent})
    client.track("s1", "Product Viewed", {"product_id": "k1", "price": 40.0})
    client.track("s1", "Product Viewed", {"product_id": "k2", "price": 42.0})
    client.track("s2", "Product Viewed", {"product_id": "other"})
    client.flush()
    caught_up(live.juncture)  # the views are applied before a price changes

    feed = FEED.format(k1="30.00", k2="in stock")
    done = upload(api, "products", feed, "text/tab-separated-values").json()
    assert (done["changed"], done["announced"]) == (2, 2)
    again = upload(api, "products", feed, "text/tab-separated-values").json()
    assert (again["changed"], again["announced"]) == (0, 0)

    events = api.get("/v1/events", params={"userId": "s1", "derived": "false"}, headers=ADMIN)
    told = {
        e["event"]: e["properties"]
        for e in events.json()["events"]
        if e.get("event", "").startswith("Product ") and e["event"] != "Product Viewed"
    }
    assert told["Product Price Dropped"] == {
        "product_id": "k1", "name": "Steel Kettle", "price": 30.0, "previous_price": 40.0,
        "currency": "EUR", "url": "https://shop.example/k1",
    }  # fmt: skip
    assert told["Product Back In Stock"]["product_id"] == "k2"

    mails = sink.wait_for(2)
    subjects = sorted(str(m.message["Subject"]) for m in mails)
    assert subjects == ["Back in stock: Red Kettle", "Now 30.0 EUR: Steel Kettle"]
    assert all(m.recipients == ["s1@example.com"] for m in mails)
    body = next(m for m in mails if "Steel" in str(m.message["Subject"])).message.get_body(
        ("plain",)
    )
    assert body is not None
    assert "down from 40.0" in body.get_content()
    api.close()


def test_one_change_at_a_time_over_the_admin_api(shop: tuple[LiveServer, SmtpSink]) -> None:
    live, _ = shop
    api = httpx.Client(base_url=live.url, headers=ADMIN)
    feed = FEED.format(k1="40.00", k2="out of stock")
    assert upload(api, "products", feed, "text/tab-separated-values").status_code == 200
    client = Client(WRITE_KEY, host=live.url, sync_mode=True)
    client.track("s1", "Product Viewed", {"product_id": "k1", "price": 40.0})
    client.flush()
    caught_up(live.juncture)  # the views are applied before a price changes

    r = api.patch("/v1/products/k1", json={"price": "35.00 EUR"})  # a price alone
    assert r.status_code == 200, r.text
    assert (r.json()["price"], r.json()["changed"], r.json()["announced"]) == (35.0, True, 1)
    shown = api.get("/v1/products/k1").json()
    assert (shown["title"], shown["link"], shown["price"]) == (
        "Steel Kettle", "https://shop.example/k1", 35.0,
    )  # fmt: skip
    assert api.patch("/v1/products/k1", json={"price": "35.00 EUR"}).json()["changed"] is False
    r = api.patch("/v1/products/k2", json={"Availability": "in stock"})
    assert (r.json()["availability"], r.json()["changed"]) == ("in_stock", True)

    stock = '{"store_code": "berlin", "id": "k1", "quantity": 3}'  # a stock level alone
    r = upload(api, "inventory", stock, "application/x-ndjson")
    assert (r.status_code, r.json()["new"]) == (200, 1)
    assert api.get("/v1/products/k1/stock").json()["stock"][0]["quantity"] == 3

    bad = api.patch("/v1/products/k1", json={"price": "cheap", "title": "New"})
    assert bad.status_code == 400 and bad.json()["where"] in {"price", "title"}, bad.text
    assert api.patch("/v1/products/nope", json={"price": "1 EUR"}).status_code == 404
    events = api.get("/v1/events", params={"userId": "s1", "derived": "false"}).json()
    assert "Product Price Dropped" in [e["event"] for e in events["events"]]
    api.close()
