from __future__ import annotations

import datetime as dt
import json
import re
from collections import Counter
from typing import Any

from juncture.core import messages as wire_format
from juncture.sim import Simulation

ISO_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
KNOWN_EVENTS = {
    "Products Searched", "Product List Viewed", "Product Clicked", "Product Viewed",
    "Product Added", "Product Removed", "Cart Viewed", "Checkout Started", "Order Completed",
    "Order Refunded", "Product Reviewed", "Support Ticket Opened", "Survey Answered",
    "Email Opened", "Email Link Clicked", "Push Notification Opened", "Store Visited",
    "Unsubscribed", "Product Added to Wishlist", "Question Asked", "Application Opened",
    "Promotion Clicked",
}  # fmt: skip

Run = tuple[Simulation, list[dict[str, Any]]]


def test_every_message_passes_the_wire_checks(small_run: Run) -> None:
    _, messages = small_run
    assert len(messages) > 5000
    for message in messages:
        assert message["type"] in {"track", "identify", "page", "screen"}
        assert message.get("userId") or message.get("anonymousId")
        assert ISO_Z.match(message["timestamp"])
        context = message["context"]
        assert {"channel", "device", "timezone"} <= set(context)
        if message["type"] == "track":
            assert message["event"] in KNOWN_EVENTS
    stamps = [m["timestamp"] for m in messages]
    assert stamps == sorted(stamps)
    assert len({m["messageId"] for m in messages}) == len(messages)


def test_the_core_parser_accepts_every_message(small_run: Run) -> None:
    _, messages = small_run
    received = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
    for start in range(0, len(messages), 100):
        body = json.dumps({"batch": messages[start : start + 100]}).encode()
        events, rejected = wire_format.normalize(
            wire_format.parse_batch(body), source="sim", received_at=received
        )
        assert not rejected
        assert len(events) == len(messages[start : start + 100])


def test_the_stream_covers_the_retail_journey(small_run: Run) -> None:
    _, messages = small_run
    events = Counter(m.get("event") for m in messages if m["type"] == "track")
    expected = KNOWN_EVENTS - {"Unsubscribed", "Promotion Clicked"}  # the latter: on-site answers
    assert expected <= set(events), expected - set(events)
    channels = {m["context"]["channel"] for m in messages}
    assert {"web", "app", "store", "email", "social"} <= channels
    assert sum(m["type"] == "identify" for m in messages) > 0


def test_orders_carry_ecommerce_properties(small_run: Run) -> None:
    _, messages = small_run
    orders = [m for m in messages if m.get("event") == "Order Completed"]
    assert orders
    for order in orders:
        props = order["properties"]
        assert {"order_id", "total", "revenue", "currency", "products"} <= set(props)
        for line in props["products"]:
            keys = {"product_id", "sku", "name", "category", "brand", "price", "quantity"}
            assert keys <= set(line)
    store = [o for o in orders if o["context"]["channel"] == "store"]
    carded = [o for o in store if "loyalty_id" in o["properties"]]
    assert carded
    assert all(
        o["context"]["traits"]["loyalty_id"] == o["properties"]["loyalty_id"] for o in carded
    )


def test_surveys_and_reviews_are_in_range(small_run: Run) -> None:
    _, messages = small_run
    for message in messages:
        props = message.get("properties", {})
        if message.get("event") == "Survey Answered":
            top = 10 if props["survey"] == "nps" else 5
            assert props["survey"] in {"nps", "csat"}
            assert 0 <= props["score"] <= top
        if message.get("event") == "Product Reviewed":
            assert 1 <= props["rating"] <= 5
            assert {"review_id", "product_id", "review_body"} <= set(props)


def test_ground_truth_knows_why_carts_were_left(small_run: Run) -> None:
    sim, messages = small_run
    truth = sim.ground_truth
    assert truth.purchases
    assert set(truth.abandonment_reasons()) == {"price", "shipping", "distraction"}
    assert sim.done
    assert all("reason" not in m.get("properties", {}) for m in messages)
    assert truth.summary()["customers"] == 400
