"""Recommendations where shoppers see them, over real HTTP: the storefront slots and the
popover of ``POST /v1/decide``, and the cart reminder email (real SMTP) listing what goes
with the basket; the shoppers' orders sent by Segment's own Python client."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import httpx
import pytest
from segment.analytics.client import Client

from juncture import wiring
from tests.conftest import BASIC, WRITE_KEY, LiveServer, settings_for, signed
from tests.e2e.test_cart_recovery_email import USER, Shop
from tests.e2e.test_recommendations_http import opened
from tests.servers import SmtpSink


@pytest.fixture
def shop(database_url: str) -> Iterator[LiveServer]:
    server = LiveServer(wiring.build(settings_for(database_url, recs_refresh=0.0))).start()
    yield server
    server.stop()


def decide(live: LiveServer, placement: str, **body: object) -> dict[str, object]:
    r = httpx.post(
        f"{live.url}/v1/decide",
        params={"consistent": "true"},  # as /v1/juncture.js asks: what c1 did is applied
        json={"userId": "c1", "userHash": signed("c1"), "placement": placement, **body},
        headers=BASIC,
    )
    assert r.status_code == 200, r.text
    return dict(r.json())


def test_storefront_slots_and_the_popover(shop: LiveServer) -> None:
    opened(shop)
    similar = decide(shop, "recs:similar", productId="k1")
    show = similar["show"]
    assert isinstance(show, dict)
    assert (similar["reason"], show["kind"]) == ("similar", "product_recommendation")
    products = show["data"]["products"]
    assert products[0]["product_id"] == "k2"
    assert show["data"]["recommendationId"].startswith("rec_")
    assert "Glass Kettle" in show["html"]
    again = decide(shop, "recs:similar", productId="k1")["show"]
    assert isinstance(again, dict) and again["id"] != show["id"]  # each ask recorded

    popover = decide(shop, "product_recommendation")
    assert popover["reason"] == "people_like_you"
    assert isinstance(popover["show"], dict)
    assert "Camp Lamp" not in popover["show"]["text"]  # c1 has seen everything camping

    nothing = decide(shop, "recs:bought_together", productId="k2")  # never in an order
    assert (nothing["show"], nothing["reason"]) == (None, "nothing_to_recommend")


@pytest.fixture
def mail_shop(database_url: str) -> Iterator[Shop]:
    sink = SmtpSink().start()
    s = Shop(database_url, sink)
    s.post(
        s.clock.now(),
        "identify",
        userId=USER,
        traits={"email": f"{USER}@example.com", "consent": {"email": {"marketing": True}}},
    )
    yield s
    s.server.stop()
    sink.stop()


def test_the_cart_reminder_lists_what_goes_with_the_basket(mail_shop: Shop) -> None:
    client = Client(WRITE_KEY, host=mail_shop.server.url, sync_mode=True)
    earlier = mail_shop.clock.now() - dt.timedelta(days=3)
    for n in range(2):
        products = [
            {"product_id": "Trail Runner 2", "name": "Trail Runner 2", "price": 89.0},
            {"product_id": "Running Socks", "name": "Running Socks", "price": 12.0},
        ]
        client.track(
            f"runner{n}", "Order Completed", {"order_id": f"r{n}", "products": products},
            timestamp=earlier,
        )  # fmt: skip
    bottle = [{"product_id": "Bottle", "name": "Bottle", "price": 9.0}]
    client.track("runner9", "Order Completed", {"order_id": "r9", "products": bottle},
                 timestamp=earlier)  # fmt: skip
    client.flush()  # socks go with the shoes more than chance: lift 3/2
    mail_shop.add(1, "Trail Runner 2", 89.0)
    mail_shop.at(62)
    [mail] = mail_shop.sink.wait_for(1)
    text = mail.part("plain").replace("\r\n", "\n")
    assert "Goes well with your basket:\n- Running Socks (12.00)\n" in text
    assert "Bottle" not in text
    assert "Running Socks" in mail.part("html")
