"""The shipped cart abandonment journey, end to end: events over HTTP into the real server,
the engine in event time (a manual clock), the dispatcher, and a real SMTP server."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from juncture import wiring
from juncture.core.identity import profile_id_for
from juncture.core.journeys.catalog import Catalog
from juncture.core.journeys.machine import bucket
from juncture.definitions import journeys as journey_definitions
from juncture.runtime.clock import ManualClock
from juncture.runtime.engine import StaticJourneys
from tests.conftest import WRITE_KEY, LiveServer, caught_up, settings_for
from tests.servers import Mail, SmtpSink

T0 = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)
JOURNEY = next(j for j in journey_definitions.load_library() if j.id == "cart_abandonment")
# A customer outside the journey's holdout, so that the reminder is really sent.
USER = next(
    f"shopper-{n}"
    for n in range(100)
    if bucket(JOURNEY.id, profile_id_for(f"user_id:shopper-{n}"), "holdout") * 100
    >= JOURNEY.holdout_percent
)


class Shop:
    def __init__(self, database_url: str, sink: SmtpSink) -> None:
        self.clock = ManualClock(T0)
        settings = settings_for(
            database_url,
            smtp_url=SecretStr(sink.url),
            email_from="Shop <shop@example.com>",
            dispatch_interval=0.05,
        )
        juncture = wiring.build(
            settings, clock=self.clock, journeys=StaticJourneys(Catalog.of([JOURNEY]))
        )
        juncture.start_dispatcher()
        self.server = LiveServer(juncture).start()
        self.sink = sink

    def post(self, at: dt.datetime, path: str, **body: Any) -> None:
        self.clock.set(max(self.clock.now(), at))
        message = {"messageId": str(uuid.uuid4()), "timestamp": at.isoformat(), **body}
        r = httpx.post(f"{self.server.url}/v1/{path}", json=message, auth=(WRITE_KEY, ""))
        assert r.status_code == 200, r.text
        caught_up(self.server.juncture)  # applied at its own time, before the clock moves on

    def add(self, minutes: int, product: str, price: float) -> None:
        props = {"cart_id": "c1", "product_id": product, "name": product, "price": price}
        self.post(T0 + dt.timedelta(minutes=minutes), "track", userId=USER, event="Product Added",
                  properties=props)  # fmt: skip

    def at(self, minutes: int) -> list[Mail]:
        """Move the clock, let the engine fire what fell due, give the dispatcher time."""
        self.clock.set(T0 + dt.timedelta(minutes=minutes))
        self.server.juncture.tick_sync()
        time.sleep(0.5)
        return list(self.sink.mails)


@pytest.fixture
def shop(database_url: str) -> Iterator[Shop]:
    sink = SmtpSink().start()
    s = Shop(database_url, sink)
    s.post(
        T0,
        "identify",
        userId=USER,
        traits={
            "email": f"{USER}@example.com",
            "first_name": "Grace",
            "consent": {"email": {"marketing": True}},
        },
    )
    yield s
    s.server.stop()
    sink.stop()


def test_an_abandoned_cart_gets_exactly_one_email_with_its_items(shop: Shop) -> None:
    shop.add(1, "Trail Runner 2", 89.0)
    assert shop.at(59) == []
    shop.at(62)
    [mail] = shop.sink.wait_for(1)
    assert mail.recipients == [f"{USER}@example.com"]
    text = mail.part("plain")
    assert "Grace" in text
    assert "Trail Runner 2 x 1 @ 89.00" in text
    assert mail.message["Subject"] == "You left 1 item in your basket"
    assert len(shop.at(120)) == 1  # and nothing more before the next day's step


def test_a_purchase_during_the_wait_sends_nothing(shop: Shop) -> None:
    shop.add(1, "Trail Runner 2", 89.0)
    shop.post(
        T0 + dt.timedelta(minutes=30),
        "track",
        userId=USER,
        event="Order Completed",
        properties={"cart_id": "c1", "order_id": "o1", "total": 89.0},
    )
    assert shop.at(3 * 60) == []
    assert shop.at(3 * 24 * 60) == []


def test_a_second_product_added_restarts_the_wait(shop: Shop) -> None:
    shop.add(1, "Trail Runner 2", 89.0)
    shop.add(40, "Running Socks", 12.0)
    assert shop.at(75) == []  # an hour after the first add, but not after the second
    shop.at(102)
    [mail] = shop.sink.wait_for(1)
    text = mail.part("plain")
    assert "Trail Runner 2 x 1" in text
    assert "Running Socks x 1" in text
