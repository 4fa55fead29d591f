"""Cart abandonment in event time: a durable timer, driven through the real ingestion path
and committer with a manual clock, across restarts, on every store."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import msgspec
import orjson
import pytest

from juncture import wiring
from juncture.core import messages
from juncture.core.events import Event
from juncture.runtime.clock import ManualClock
from tests.conftest import caught_up, settings_for

T0 = dt.datetime(2026, 5, 4, 18, 0, tzinfo=dt.UTC)
QUIET = dt.timedelta(minutes=30)  # the default SignalConfig.cart_quiet
CHECKOUT_QUIET = dt.timedelta(hours=1)  # the default SignalConfig.checkout_quiet
SHOES = {"product_id": "P-1", "price": 80.0, "quantity": 1, "currency": "EUR"}
SOCKS = {"product_id": "P-2", "price": 12.5, "quantity": 2, "currency": "EUR"}


class Shop:
    """Juncture on one database with a manual clock; ``restart`` closes it and opens a new
    one on the same database, as after a crash or a deploy."""

    def __init__(self, database_url: str) -> None:
        self.database_url = database_url
        self.clock = ManualClock(T0)
        self.juncture = wiring.build(settings_for(database_url), clock=self.clock)

    def restart(self) -> None:
        self.juncture.close()
        self.clock = ManualClock(self.clock.now())
        self.juncture = wiring.build(settings_for(self.database_url), clock=self.clock)

    def at(self, minutes: float) -> dt.datetime:
        when = T0 + dt.timedelta(minutes=minutes)
        self.clock.set(when)
        return when

    def send(self, minutes: float, event: str, properties: dict[str, Any]) -> None:
        """A track of user ``u-1`` stamped (and received) ``minutes`` after T0."""
        when = self.at(minutes)
        body = {
            "type": "track",
            "userId": "u-1",
            "event": event,
            "messageId": str(uuid.uuid4()),
            "timestamp": when.isoformat(),
            "properties": properties,
        }
        envelope = messages.Envelope(messages=[msgspec.Raw(orjson.dumps(body))], single=False)
        outcome = self.juncture.ingestor.ingest_sync(envelope, "web")
        assert outcome.receipt.stored == 1
        caught_up(self.juncture)  # applied at its own time, before the clock moves on

    def tick(self, minutes: float) -> None:
        """The scheduler's tick at ``minutes`` after T0."""
        self.at(minutes)
        self.juncture.tick_sync()

    def abandoned(self, name: str = "Cart Abandoned") -> list[Event]:
        derived = self.juncture.store.events(user_id=None, derived=True, limit=1000)
        return [e for e in derived if e.event == name]

    def close(self) -> None:
        self.juncture.close()


@pytest.fixture
def shop(database_url: str) -> Iterator[Shop]:
    s = Shop(database_url)
    yield s
    s.close()


def test_a_quiet_cart_is_abandoned_once_with_its_contents(shop: Shop) -> None:
    shop.send(0, "Product Added", SHOES)
    shop.send(5, "Product Added", SOCKS)
    shop.tick(34)  # 29 minutes of quiet: not yet
    assert shop.abandoned() == []
    shop.tick(36)
    [signal] = shop.abandoned()
    assert signal.timestamp == T0 + dt.timedelta(minutes=5) + QUIET
    props = signal.properties
    assert [(i["product_id"], i["quantity"]) for i in props["cart"]] == [("P-1", 1), ("P-2", 2)]
    assert props["cart_value"] == pytest.approx(105.0)
    assert props["item_count"] == 3
    assert "checkout_started_at" not in props
    shop.tick(90)
    shop.tick(60 * 24)
    assert len(shop.abandoned()) == 1


def test_a_purchase_inside_the_quiet_period_cancels_it(shop: Shop) -> None:
    shop.send(0, "Product Added", SHOES)
    shop.send(20, "Order Completed", {"order_id": "o-1", "products": [SHOES]})
    shop.tick(60)
    shop.tick(60 * 24)
    assert shop.abandoned() == []


def test_cart_activity_moves_the_moment(shop: Shop) -> None:
    shop.send(0, "Product Added", SHOES)
    shop.send(25, "Cart Viewed", {})
    shop.tick(40)  # 30 minutes after the add, but the cart was viewed since
    assert shop.abandoned() == []
    shop.tick(56)
    [signal] = shop.abandoned()
    assert signal.timestamp == T0 + dt.timedelta(minutes=25) + QUIET


def test_a_started_checkout_is_abandoned_as_a_checkout_after_its_own_quiet(shop: Shop) -> None:
    shop.send(0, "Product Added", SHOES)
    shop.send(25, "Checkout Started", {"products": [SHOES, SOCKS]})
    shop.restart()
    shop.tick(56)  # the cart's quiet period is over, but checkout cancelled that timer
    assert shop.abandoned() == []
    assert shop.abandoned("Checkout Abandoned") == []
    shop.tick(86)
    [signal] = shop.abandoned("Checkout Abandoned")
    assert signal.timestamp == T0 + dt.timedelta(minutes=25) + CHECKOUT_QUIET
    assert signal.properties["checkout_started_at"] == (T0 + dt.timedelta(minutes=25)).isoformat()
    assert signal.properties["item_count"] == 3
    shop.tick(60 * 24)
    assert len(shop.abandoned("Checkout Abandoned")) == 1
    assert shop.abandoned() == []


def test_a_purchase_after_checkout_cancels_it(shop: Shop) -> None:
    shop.send(0, "Product Added", SHOES)
    shop.send(5, "Checkout Started", {"products": [SHOES]})
    shop.send(15, "Order Completed", {"order_id": "o-1", "products": [SHOES]})
    shop.tick(60 * 24)
    assert shop.abandoned() == shop.abandoned("Checkout Abandoned") == []


def test_events_of_others_fire_due_timers_at_their_event_time(shop: Shop) -> None:
    shop.send(0, "Product Added", SHOES)
    # no tick: the next commit (any event) fires the timer before later events
    shop.send(45, "Product Viewed", {"product_id": "P-9"})
    [signal] = shop.abandoned()
    assert signal.timestamp == T0 + QUIET


def test_a_restart_in_between_still_fires_exactly_once(shop: Shop) -> None:
    shop.send(0, "Product Added", SHOES)
    shop.restart()
    shop.tick(20)
    assert shop.abandoned() == []
    shop.restart()
    shop.tick(31)
    shop.restart()
    shop.tick(32)
    shop.tick(60 * 24)
    [signal] = shop.abandoned()
    assert signal.timestamp == T0 + QUIET


def test_a_purchase_after_a_restart_still_cancels_it(shop: Shop) -> None:
    shop.send(0, "Product Added", SHOES)
    shop.restart()
    shop.send(10, "Order Completed", {"order_id": "o-1", "products": [SHOES]})
    shop.restart()
    shop.tick(60 * 24)
    assert shop.abandoned() == []
