"""The click stream, presence and store event touchpoints, associate training, expert
appointments and endless-aisle orders over real HTTP on every store: shoppers tracked by
Segment's own Python client; nothing answers before the table it needs is there, then each
is answered from it, and what shoppers do (register, attend, book, order) is recorded as
their events."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from segment.analytics.client import Client

from juncture import wiring
from juncture.runtime.clock import ManualClock
from tests.conftest import ADMIN, WRITE_KEY, LiveServer, caught_up, settings_for, stored
from tests.e2e.test_touchpoints_http import decide, feed
from tests.e2e.test_wishlist_touchpoints_http import tables

# A Wednesday morning, so that a slot tomorrow is inside working hours.
START = dt.datetime(2026, 12, 2, 8, 0, tzinfo=dt.UTC)
HOURS = ",".join(["09:00-17:00"] * 7)
ASSOCIATES = (
    "associate_id,name,store_code,skills,monday_hours,tuesday_hours,wednesday_hours,"
    "thursday_hours,friday_hours,saturday_hours,sunday_hours\n"
    f"a1,Ann,munich,Home > Kitchen,{HOURS}\na2,Bo,berlin,Garden,{HOURS}\n"
)
MUNICH: dict[str, Any] = {"latitude": 48.1372, "longitude": 11.5755}  # a few metres from the store


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def shop(database_url: str, clock: ManualClock) -> Iterator[LiveServer]:
    settings = settings_for(database_url, onsite_cap_per_day=50)
    server = LiveServer(wiring.build(settings, clock=clock)).start()
    yield server
    server.stop()


def at(hours: float) -> str:
    return (START + dt.timedelta(hours=hours)).isoformat()


def post(live: LiveServer, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(live.url + path, json=body, headers=ADMIN)


def test_strong_interest_is_met_with_a_product_then_an_offer(shop: LiveServer) -> None:
    client = Client(WRITE_KEY, host=shop.url, sync_mode=True)
    for _ in range(3):
        client.track("s1", "Product Viewed", {"product_id": "k1", "price": 40.0}, timestamp=START)
    client.flush()
    caught_up(shop.juncture)
    assert decide(shop, "clickstream")["reason"] == "nothing_fits"  # no products to offer

    tables(shop)
    shown = decide(shop, "clickstream")
    assert shown["reason"] == "product_for_interest"
    assert shown["show"]["data"]["signal"] == {"kind": "product", "value": "k1"}
    assert shown["show"]["data"]["product"]["id"] == "k2"  # a kettle not seen yet
    promo = {"promotion_id": "kettles5", "long_title": "5 EUR off kettles",
             "money_off_amount": "5 EUR", "product_type": "Home > Kitchen > Kettles"}  # fmt: skip
    feed(shop, "promotions", json.dumps(promo), "application/x-ndjson")
    offer = decide(shop, "clickstream")
    assert (offer["reason"], offer["show"]["data"]["offer"]["id"]) == (
        "offer_for_interest",
        "kettles5",
    )
    assert "5 EUR off kettles" in offer["show"]["title"]
    assert decide(shop, "clickstream", user="s9")["reason"] == "no_strong_interest"


def test_presence_invites_only_with_location_use_allowed(shop: LiveServer) -> None:
    client = Client(WRITE_KEY, host=shop.url, sync_mode=True)
    client.track("s1", "Product Viewed", {"product_id": "k1", "price": 40.0}, timestamp=START)
    client.flush()
    caught_up(shop.juncture)
    tables(shop)
    feed(shop, "associates", ASSOCIATES, "text/csv")
    assert decide(shop, "presence", **MUNICH)["reason"] == "no_location_opt_in"

    client.identify("s1", {"consent": {"location": True}}, timestamp=START)
    client.flush()
    caught_up(shop.juncture)
    here = decide(shop, "presence", **MUNICH)  # a position inside the geofence
    assert here["reason"] == "presence_associate"
    assert here["show"]["data"]["store"]["storeCode"] == "munich"
    assert "Ann knows Steel Kettle and is here today 09:00-17:00" in here["show"]["text"]
    far: dict[str, Any] = {"latitude": 48.2, "longitude": 11.6}
    assert decide(shop, "presence", **far)["reason"] == "not_in_store"
    assert decide(shop, "presence", storeCode="berlin")["reason"] == "nothing_here"
    coupon = "coupon_id,title,issuer,issuer_kind,percent_off,store_code\n"
    coupon += "mall5,5% in Berlin,Mall,mall,5,berlin\n"
    feed(shop, "coupons", coupon, "text/csv")
    beacon = decide(shop, "presence", storeCode="berlin")  # a beacon or till names the store
    assert (beacon["reason"], beacon["show"]["data"]["coupon"]["id"]) == (
        "presence_coupon",
        "mall5",
    )

    client.identify("s1", {"consent": {"location": False}}, timestamp=START + dt.timedelta(1))
    client.flush()
    caught_up(shop.juncture)
    assert decide(shop, "presence", storeCode="berlin")["reason"] == "no_location_opt_in"


def test_a_store_event_invites_reminds_and_follows_up(shop: LiveServer, clock: ManualClock) -> None:
    client = Client(WRITE_KEY, host=shop.url, sync_mode=True)
    client.track("s1", "Product Viewed", {"product_id": "k1", "price": 40.0}, timestamp=START)
    client.flush()
    caught_up(shop.juncture)
    tables(shop)
    feed(shop, "associates", ASSOCIATES, "text/csv")
    assert decide(shop, "event", storeCode="munich")["reason"] == "no_event"

    event = {"event_id": "e1", "title": "Kettle tasting", "store_code": "munich",
             "starts_at": at(26), "ends_at": at(28), "product_ids": ["k1"],
             "associate_ids": ["a1"], "product_lines": ["Home > Kitchen"],
             "capacity": 1}  # fmt: skip
    feed(shop, "store_events", json.dumps(event), "application/x-ndjson")
    invited = decide(shop, "event", storeCode="munich")
    assert (invited["reason"], invited["show"]["data"]["event"]["id"]) == ("event_invitation", "e1")

    r = post(shop, "/v1/store-events/e1/registrations", {"customerId": "s1"})
    assert (r.status_code, r.json()["status"]) == (201, "registered")
    assert post(shop, "/v1/store-events/e1/registrations", {"customerId": "s1"}).status_code == 200
    full = post(shop, "/v1/store-events/e1/registrations", {"customerId": "s2"})
    assert (full.status_code, full.json()["code"]) == (409, "event_full")
    assert decide(shop, "event")["reason"] == "event_reminder"

    clock.advance(dt.timedelta(hours=27))
    assert post(shop, "/v1/store-events/e1/attendance", {"customerId": "s2"}).status_code == 404
    assert post(shop, "/v1/store-events/e1/attendance", {"customerId": "s1"}).status_code == 200
    clock.advance(dt.timedelta(hours=2))
    follow = decide(shop, "event")["show"]
    assert follow["data"]["attended"] is True
    (product,) = follow["data"]["event"]["products"]
    assert (product["id"], product["quantityThere"]) == ("k1", 9)
    assert [a["name"] for a in follow["data"]["event"]["associates"]] == ["Ann"]
    assert "Thanks for coming to Kettle tasting" in follow["title"]
    told = [e["event"] for e in stored(shop, userId="s1") if e["event"].startswith("Store")]
    assert told == ["Store Event Registered", "Store Event Attended"]


def test_training_where_demand_meets_no_one_who_knows_the_line(shop: LiveServer) -> None:
    client = Client(WRITE_KEY, host=shop.url, sync_mode=True)
    for n in range(4):  # the in-store app sends the store with each event
        props = {"product_id": "k1", "store_code": "berlin"}
        client.track(f"v{n}", "Product Viewed", props, timestamp=START)
        client.track(f"v{n}", "Question Asked", {**props, "question": "Watts?"}, timestamp=START)
    client.flush()
    caught_up(shop.juncture)
    r = httpx.get(f"{shop.url}/v1/training", params={"store": "berlin"}, headers=ADMIN)
    assert r.json()["lines"] == []  # without the products, no line is known

    tables(shop)
    feed(shop, "associates", ASSOCIATES, "text/csv")
    (line,) = httpx.get(
        f"{shop.url}/v1/training", params={"store": "berlin"}, headers=ADMIN
    ).json()["lines"]
    assert (line["line"], line["views"], line["questions"], line["demand"]) == (
        "Home > Kitchen", 4, 4, 24,
    )  # fmt: skip
    assert (line["trainingNeeded"], line["associates"]) == (True, [])  # Bo knows gardens
    assert (line["facts"][0]["id"], line["facts"][0]["currentPrice"]) == ("k1", 40.0)
    skilled = ASSOCIATES + f"a3,Cy,berlin,Home > Kitchen,{HOURS}\n"
    feed(shop, "associates", skilled, "text/csv")
    (line,) = httpx.get(
        f"{shop.url}/v1/training", params={"store": "berlin"}, headers=ADMIN
    ).json()["lines"]
    assert (line["trainingNeeded"], [a["name"] for a in line["associates"]]) == (False, ["Cy"])


def test_booking_an_expert_and_ordering_from_the_endless_aisle(shop: LiveServer) -> None:
    tables(shop)
    query = {"store": "munich", "product_id": "k1", "date": "2026-12-03"}
    r = httpx.get(f"{shop.url}/v1/appointments/slots", params=query, headers=ADMIN)
    assert r.json()["associates"] == []  # no associates yet
    feed(shop, "associates", ASSOCIATES, "text/csv")
    (ann,) = httpx.get(f"{shop.url}/v1/appointments/slots", params=query, headers=ADMIN).json()[
        "associates"
    ]
    slot = ann["slots"][2]
    assert slot == "2026-12-03T10:00:00+00:00"
    booking = {"customerId": "s1", "associateId": "a1", "startsAt": slot, "productId": "k1"}
    r = post(shop, "/v1/appointments", booking)
    assert (r.status_code, r.json()["associateName"]) == (201, "Ann")
    assert post(shop, "/v1/appointments", booking).json()["status"] == "already_booked"
    taken = post(shop, "/v1/appointments", {**booking, "customerId": "s2"})
    assert (taken.status_code, taken.json()["code"]) == (409, "slot_taken")
    (ann,) = httpx.get(f"{shop.url}/v1/appointments/slots", params=query, headers=ADMIN).json()[
        "associates"
    ]
    assert slot not in ann["slots"]

    order = {"orderId": "o1", "customerId": "s1", "productId": "k1", "shipFrom": "munich",
             "storeCode": "berlin", "quantity": 2}  # fmt: skip
    r = post(shop, "/v1/orders/endless-aisle", order)
    assert r.status_code == 201, r.text
    stock = httpx.get(f"{shop.url}/v1/products/k1/stock", headers=ADMIN).json()
    munich = next(x for x in stock["stock"] if x["storeCode"] == "munich")
    assert munich["quantity"] == 7
    assert post(shop, "/v1/orders/endless-aisle", {**order, "quantity": 8}).status_code == 409
    events = {e.get("event"): e for e in stored(shop, userId="s1")}
    assert events["Order Completed"]["properties"]["products"][0]["quantity"] == 2
    assert events["Appointment Booked"]["properties"]["starts_at"] == slot
