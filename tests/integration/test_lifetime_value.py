"""Predicted lifetime value from the stored orders, written on the profiles as the ``clv``
trait through the writer, and read back by segments (the shipped "VIPs at risk")."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import msgspec
import numpy as np
import orjson
import pytest
from typer.testing import CliRunner

from juncture import wiring
from juncture.analytics import clv
from juncture.cli.main import app
from juncture.core import messages
from juncture.definitions import segments as segment_definitions
from juncture.errors import Conflict
from juncture.runtime import lifetime_value
from juncture.runtime.segments import Segments
from juncture.store.customer_orders import CustomerOrders, OrderHistory
from juncture.testing import ManualClock
from tests.conftest import caught_up, settings_for

T0 = dt.datetime(2026, 1, 5, 10, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
NOW = T0 + 300 * DAY
VIP_AT_RISK = Path(segment_definitions.__file__).parent.parent / "library/segments/vip_at_risk.yaml"


class Shop:
    """A Juncture on a real database, fed orders in event time."""

    def __init__(self, database_url: str) -> None:
        self.clock = ManualClock(T0)
        self.juncture = wiring.build(settings_for(database_url), clock=self.clock)
        self.run = uuid.uuid4().hex[:8]
        self.ids = itertools.count()
        self.sent: dict[str, list[tuple[dt.datetime, float]]] = {}

    def user(self, name: str) -> str:
        return f"{self.run}-{name}"

    def order(self, name: str, at: dt.datetime, total: float) -> None:
        self.send(
            name,
            at,
            {
                "type": "track",
                "event": "Order Completed",
                "properties": {"order_id": f"{self.run}-o{next(self.ids)}", "total": total},
            },
        )
        self.sent.setdefault(name, []).append((at, total))

    def send(self, name: str, at: dt.datetime, body: dict[str, object]) -> None:
        self.clock.set(at)
        msg = {
            "userId": self.user(name),
            "messageId": f"{self.run}-m{next(self.ids)}",
            "timestamp": at.isoformat(),
            **body,
        }
        envelope = messages.Envelope(messages=[msgspec.Raw(orjson.dumps(msg))], single=False)
        assert self.juncture.ingestor.ingest_sync(envelope, "test").receipt.stored == 1
        caught_up(self.juncture)  # applied at its own time, before the clock moves on

    def profile_id(self, name: str) -> str:
        found = self.juncture.store.profiles.by_identifier(f"user_id:{self.user(name)}")
        assert found is not None
        return found.profile_id

    def traits(self, name: str) -> dict[str, object]:
        found = self.juncture.store.profiles.profile(self.profile_id(name))
        assert found is not None
        return dict(found.profile.traits)


@pytest.fixture
def shop(database_url: str) -> Iterator[Shop]:
    s = Shop(database_url)
    rng = np.random.default_rng(4)
    orders: list[tuple[dt.datetime, str, float]] = []
    for c in range(40):  # an ordinary base: a few orders each, spread over the period
        start = float(rng.uniform(0, 250))
        for k in range(int(rng.integers(1, 5))):
            at = T0 + dt.timedelta(days=min(start + 20 * k + float(rng.uniform(0, 15)), 299))
            orders.append((at, f"c{c}", round(float(rng.uniform(20, 80)), 2)))
    for k in range(30):  # loyal: every ten days, to this day
        orders.append((T0 + (10 * k + 5) * DAY, "loyal", 60.0))
    for k in range(10):  # gone: a VIP who bought weekly, then nothing for eight months
        orders.append((T0 + (7 * k + 1) * DAY, "gone", 120.0))
    for at, name, total in sorted(orders):
        s.order(name, at, total)
    s.clock.set(NOW)
    yield s
    s.juncture.close()


def test_histories_are_the_orders_each_customer_made(shop: Shop) -> None:
    reads = CustomerOrders(shop.juncture.store.engine)
    found = {h.profile_id: h.orders for h in reads.histories()}
    for name, sent in shop.sent.items():
        assert found[shop.profile_id(name)] == tuple(sorted(sent))
    assert len(found) == len(shop.sent)


def test_the_clv_trait_is_stored_and_vips_at_risk_are_found(shop: Shop) -> None:
    scores = lifetime_value.refresh(
        CustomerOrders(shop.juncture.store.engine), shop.juncture.batch_run(), NOW
    )
    sent = sorted((shop.profile_id(n), tuple(sorted(o))) for n, o in shop.sent.items())
    by_hand = clv.score([OrderHistory(pid, orders) for pid, orders in sent], NOW)
    assert scores.model == by_hand.model

    loyal, gone = shop.traits("loyal")["clv"], shop.traits("gone")["clv"]
    assert isinstance(loyal, dict) and isinstance(gone, dict)
    assert loyal["p_alive"] > 0.8 > 0.5 > gone["p_alive"]
    assert loyal["predicted"] > gone["predicted"]
    assert (loyal["orders"], loyal["historic"]) == (30, 30 * 60.0)
    assert loyal["at"] == NOW.isoformat()

    segments = Segments(shop.juncture.store.segments)
    segment, refreshed = segments.apply(VIP_AT_RISK.read_text(), VIP_AT_RISK.name, NOW)
    members = {p for p, _ in segments.store.stored_members(segment.id, limit=1000)}
    assert shop.profile_id("gone") in members
    assert shop.profile_id("loyal") not in members
    assert refreshed.size == len(members)


def test_a_later_event_keeps_the_trait_and_a_rerun_replaces_it(shop: Shop) -> None:
    run = shop.juncture.batch_run()
    orders = CustomerOrders(shop.juncture.store.engine)
    lifetime_value.refresh(orders, run, NOW)
    first = shop.traits("gone")["clv"]
    shop.send("gone", NOW + DAY, {"type": "identify", "traits": {"city": "Lyon"}})
    assert shop.traits("gone")["clv"] == first
    assert shop.traits("gone")["city"] == "Lyon"
    shop.order("gone", NOW + 2 * DAY, 120.0)
    lifetime_value.refresh(orders, run, NOW + 3 * DAY)
    again = shop.traits("gone")["clv"]
    assert isinstance(again, dict) and isinstance(first, dict)
    assert again["p_alive"] > first["p_alive"]  # the comeback order: alive again
    assert again["orders"] == 11


def test_a_base_without_repeat_buyers_or_too_alike_cannot_be_fitted(database_url: str) -> None:
    s = Shop(database_url)
    try:
        for i in range(5):
            s.order(f"once{i}", T0 + i * DAY, 30.0)
        orders = CustomerOrders(s.juncture.store.engine)
        with pytest.raises(Conflict, match="repeat purchase"):
            lifetime_value.refresh(orders, s.juncture.batch_run(), NOW)
        s.order("once0", T0 + 9 * DAY, 30.0)
        s.order("once1", T0 + 12 * DAY, 45.0)
        with pytest.raises(Conflict, match="do not vary enough"):
            lifetime_value.refresh(orders, s.juncture.batch_run(), NOW)
        assert "clv" not in s.traits("once0")
    finally:
        s.juncture.close()


def test_the_cli_fits_and_writes_and_a_dry_run_only_prints(shop: Shop, database_url: str) -> None:
    runner = CliRunner()
    dry = runner.invoke(app, ["measure", "clv", "--dry-run", "--database-url", database_url])
    assert dry.exit_code == 0, dry.output
    summary = json.loads(dry.stdout)
    assert (summary["customers"], summary["written"]) == (len(shop.sent), 0)
    assert "clv" not in shop.traits("gone")
    done = runner.invoke(app, ["measure", "clv", "--database-url", database_url])
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["written"] == len(shop.sent)
    written = shop.traits("gone")["clv"]
    assert isinstance(written, dict) and {"predicted", "p_alive"} <= set(written)


def test_the_cli_says_why_a_base_cannot_be_fitted(database_url: str) -> None:
    found = CliRunner().invoke(app, ["measure", "clv", "--database-url", database_url])
    assert found.exit_code == 1
    assert "not_enough_data" in found.output
