"""The shopper touchpoints of ``POST /v1/decide`` over real HTTP on every store: a shopper
tracked by Segment's own Python client (Product Viewed, Product Added, Application Opened)
asks each touchpoint; before the retailer's tables are there nothing answers, then the
feeds go in and each is answered from them, and recorded (an id) once where it is news."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from segment.analytics.client import Client

from juncture import wiring
from tests.conftest import BASIC, WRITE_KEY, LiveServer, settings_for, signed
from tests.e2e.test_catalog_http import upload

PRODUCTS = (
    "id\ttitle\tbrand\tproduct_type\tprice\tavailability\tproduct_detail\n"
    "k1\tSteel Kettle\tAcme\tHome > Kitchen > Kettles\t{k1} EUR\tin stock\t"
    "General:Capacity:1.7 l,Power:Watts:2200,Power:Cord length:75 cm\n"
    "k2\tRed Kettle\tAcme\tHome > Kitchen > Kettles\t42.00 EUR\t{k2}\t\n"
    "m1\tStone Mug\tAcme\tHome > Kitchen > Mugs\t5.00 EUR\tin stock\t\n"
)
LOCATIONS = "\n".join(
    json.dumps(x)
    for x in [
        {"store_code": "berlin", "name": "Berlin", "latitude": 52.52, "longitude": 13.405},
        {"store_code": "munich", "name": "Munich", "latitude": 48.137, "longitude": 11.575},
        {"store_code": "hamburg", "name": "Hamburg", "latitude": 53.551, "longitude": 9.993},
    ]
)
INVENTORY = (
    "store_code,id,quantity,pickup_method,pickup_sla,department,aisle,bay\n"
    "berlin,k1,2,buy,same day,Kitchen,7,C\n"
    "munich,k1,9,reserve,next day,Kitchen,3,A\n"
    "hamburg,k1,0,,,,,\n"
)
REVIEWS = (
    "review_id,product_id,rating,author_kind,content\nr1,k1,5,customer,Fast\nr2,k1,4,media,Quiet\n"
)
TIERS = "tier,name,threshold,benefits\nsilver,Silver,0,\ngold,Gold,1000,free delivery\n"
LOYALTY = "customer_id,points,lifetime_points\ns1,420,700\n"
COUPONS = (
    "coupon_id,title,issuer,issuer_kind,percent_off,brand,minimum_purchase_amount\n"
    "acme10,10% off Acme,Acme,supplier,10,Acme,5.00 EUR\n"
)
ASSOCIATES = (
    "associate_id,name,store_code,skills,monday_hours,tuesday_hours,wednesday_hours,"
    "thursday_hours,friday_hours,saturday_hours,sunday_hours\n"
    "a1,Ann,munich,Home > Kitchen,09:00-17:00,09:00-17:00,09:00-17:00,09:00-17:00,"
    "09:00-17:00,09:00-17:00,09:00-17:00\n"
    "a2,Bo,munich,Garden,09:00-17:00,,,,,,\n"
    "a3,Cy,berlin,Acme,,,,,,,\n"
)
PROMOTIONS = json.dumps(
    {"promotion_id": "kettles5", "long_title": "5 EUR off kettles", "money_off_amount": "5 EUR",
     "product_type": "Home > Kitchen > Kettles"}
)  # fmt: skip


@pytest.fixture
def shop(database_url: str) -> Iterator[LiveServer]:
    settings = settings_for(database_url, onsite_cap_per_day=50)
    server = LiveServer(wiring.build(settings)).start()
    yield server
    server.stop()


def decide(live: LiveServer, placement: str, user: str = "s1", **body: Any) -> dict[str, Any]:
    """``POST /v1/decide`` for ``user`` (signed) at ``placement``, with ``body``: its answer."""
    r = httpx.post(
        f"{live.url}/v1/decide",
        json={"userId": user, "userHash": signed(user), "placement": placement, **body},
        headers=BASIC,
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def feed(live: LiveServer, kind: str, body: str, media: str) -> None:
    with httpx.Client(base_url=live.url) as api:
        r = upload(api, kind, body, media)
        assert r.status_code == 200, r.text


def test_touchpoints_answer_from_the_tables(shop: LiveServer) -> None:
    client = Client(WRITE_KEY, host=shop.url, sync_mode=True)
    client.identify("s1", {"email": "s1@example.com"})
    client.track("s1", "Product Viewed", {"product_id": "k2", "price": 42.0})
    client.track("s1", "Product Viewed", {"product_id": "k1", "price": 40.0, "brand": "Acme"})
    client.track("s1", "Product Added", {"product_id": "m1", "price": 5.0, "quantity": 2})
    client.flush()

    # Without the tables nothing answers.
    assert decide(shop, "pickup", productId="k1")["reason"] == "no_product"
    assert decide(shop, "loyalty")["reason"] == "no_loyalty_account"
    assert decide(shop, "coupon")["reason"] == "empty_cart"

    feed(
        shop,
        "products",
        PRODUCTS.format(k1="40.00", k2="out of stock"),
        "text/tab-separated-values",
    )
    for kind, body, media in [
        ("locations", LOCATIONS, "application/x-ndjson"),
        ("inventory", INVENTORY, "text/csv"),
        ("reviews", REVIEWS, "text/csv"),
        ("loyalty_tiers", TIERS, "text/csv"),
        ("loyalty", LOYALTY, "text/csv"),
        ("coupons", COUPONS, "text/csv"),
        ("promotions", PROMOTIONS, "application/x-ndjson"),
        ("associates", ASSOCIATES, "text/csv"),
    ]:
        feed(shop, kind, body, media)
    assert decide(shop, "price_drop")["reason"] == "no_price_drop"
    assert decide(shop, "back_in_stock")["reason"] == "nothing_back_in_stock"

    # The price drops and the red kettle comes back: both are news, shown once.
    feed(shop, "products", PRODUCTS.format(k1="30.00", k2="in stock"), "text/tab-separated-values")
    dropped = decide(shop, "price_drop")
    assert (dropped["reason"], dropped["show"]["kind"]) == ("price_drop", "price_drop")
    assert (dropped["show"]["data"]["was"], dropped["show"]["data"]["now"]) == (40.0, 30.0)
    assert "25% less: Steel Kettle" in dropped["show"]["title"]
    assert decide(shop, "price_drop")["reason"] == "already_shown"
    back = decide(shop, "back_in_stock")
    assert back["show"]["data"]["product"]["id"] == "k2"
    assert "Back in stock: Red Kettle" in back["show"]["title"]

    low = decide(shop, "low_stock", storeCode="berlin")
    assert (low["show"]["data"]["product"]["id"], low["show"]["data"]["quantity"]) == ("k1", 2)
    assert "Only 2 left" in low["show"]["title"]

    near_munich: dict[str, Any] = {"latitude": 48.1, "longitude": 11.6}
    pickup = decide(shop, "pickup", productId="k1", **near_munich)["show"]
    assert [s["store"]["storeCode"] for s in pickup["data"]["stores"]] == ["munich", "berlin"]
    assert pickup["data"]["stores"][0]["readyInDays"] == 1
    assert "Munich: 9, ready next day" in pickup["text"]

    aisle = decide(shop, "endless_aisle", productId="k1", storeCode="hamburg")["show"]
    assert [s["store"]["storeCode"] for s in aisle["data"]["elsewhere"]] == ["berlin", "munich"]
    assert decide(shop, "endless_aisle", productId="k1", storeCode="berlin")["reason"] == (
        "in_stock_here"
    )
    where = decide(shop, "product_location", productId="k1", storeCode="munich")
    assert (where["reason"], where["show"]["text"].strip()) == (
        "in_store",
        "Aisle 3, bay A (Kitchen).",
    )

    specs = decide(shop, "specs", productId="k1", question="What power does it draw?")
    assert specs["reason"] == "answered"
    assert [a["name"] for a in specs["show"]["data"]["answers"]] == ["Watts", "Cord length"]
    assert decide(shop, "reviews", productId="k1")["show"]["data"]["summary"]["average"] == 4.5

    loyalty = decide(shop, "loyalty")["show"]
    assert (loyalty["data"]["points"], loyalty["data"]["pointsToNextTier"]) == (420, 300)
    assert "300 more points to Gold: free delivery." in loyalty["text"]

    coupon = decide(shop, "coupon")["show"]
    assert (coupon["data"]["coupon"]["id"], coupon["data"]["saving"]) == ("acme10", 1.0)
    promo = decide(shop, "promo", productId="k1")["show"]
    assert (promo["data"]["promotion"]["id"], promo["data"]["saving"]) == ("kettles5", 5.0)

    compared = decide(shop, "compare")["show"]
    assert [c["id"] for c in compared["data"]["columns"]] == ["k1", "k2"]
    assert compared["data"]["rows"][1] == {
        "section": "Power", "name": "Watts", "values": ["2200", None], "differs": True,
    }  # fmt: skip
    expert = decide(shop, "expert", productId="k1", storeCode="munich")["show"]
    assert [(a["name"], a["today"]) for a in expert["data"]["associates"]] == [
        ("Ann", "09:00-17:00")
    ]
    assert decide(shop, "expert", productId="k1", storeCode="hamburg")["reason"] == "no_expert"

    client.track("s1", "Application Opened", {"from_background": False})
    client.flush()
    opened = decide(shop, "app", storeCode="berlin")
    assert opened["show"]["kind"] == "loyalty"  # the news before it was shown already
    assert all(isinstance(decide(shop, "specs", productId="k1")["show"]["id"], int) for _ in "ab")
