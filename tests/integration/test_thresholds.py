"""Thresholds set as ``JUNCTURE_*`` settings change what the engine does, end to end: read
from the environment, wired by ``wiring.engine_config``, through the real ingestion path
and group commit with a manual clock."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import msgspec
import orjson
import pydantic
import pytest

from juncture import settings, wiring
from juncture.core import messages
from juncture.core.events import Event
from juncture.core.pipeline import EngineConfig
from juncture.errors import InvalidSettings
from juncture.runtime.clock import ManualClock
from juncture.settings import Settings
from tests.conftest import caught_up, settings_for

T0 = dt.datetime(2026, 5, 4, 18, 0, tzinfo=dt.UTC)
MIN = dt.timedelta(minutes=1)


class Shop:
    def __init__(self, database_url: str) -> None:
        self.clock = ManualClock(T0)
        self.juncture = wiring.build(settings_for(database_url), clock=self.clock)

    def send(self, at: dt.datetime, event: str, properties: dict[str, Any] | None = None) -> None:
        self.clock.set(max(self.clock.now(), at))
        body = {
            "type": "track",
            "userId": "u-1",
            "event": event,
            "messageId": str(uuid.uuid4()),
            "timestamp": at.isoformat(),
            "properties": properties or {},
        }
        envelope = messages.Envelope(messages=[msgspec.Raw(orjson.dumps(body))], single=False)
        assert self.juncture.ingestor.ingest_sync(envelope, "web").receipt.stored == 1
        caught_up(self.juncture)  # applied at its own time, before the clock moves on

    def tick(self, at: dt.datetime) -> None:
        self.clock.set(at)
        self.juncture.tick_sync()

    def derived(self, name: str) -> list[Event]:
        found = self.juncture.store.events(user_id=None, derived=True, limit=1000)
        return [e for e in found if e.event == name]


@pytest.fixture
def tuned(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Shop]:
    for name, value in {
        "JUNCTURE_CART_ABANDON_AFTER": "10m",
        "JUNCTURE_CHECKOUT_ABANDON_AFTER": "2h",
        "JUNCTURE_STAGE_ENGAGED_WITHIN": "3d",
        "JUNCTURE_CHANNEL_SWITCH_WINDOW": "5m",
    }.items():
        monkeypatch.setenv(name, value)
    shop = Shop(database_url)
    yield shop
    shop.juncture.close()


def test_cart_abandon_after_10m_fires_cart_abandoned_after_ten_minutes(tuned: Shop) -> None:
    tuned.send(T0, "Product Added", {"product_id": "P-1", "price": 20.0})
    tuned.tick(T0 + 9 * MIN)
    assert tuned.derived("Cart Abandoned") == []
    tuned.tick(T0 + 10 * MIN)
    [signal] = tuned.derived("Cart Abandoned")
    assert signal.timestamp == T0 + 10 * MIN


def test_checkout_abandon_after_sets_the_checkout_quiet_period(tuned: Shop) -> None:
    tuned.send(T0, "Product Added", {"product_id": "P-1", "price": 20.0})
    tuned.send(T0 + MIN, "Checkout Started")
    tuned.tick(T0 + 2 * 60 * MIN)
    assert tuned.derived("Checkout Abandoned") == []
    tuned.tick(T0 + 2 * 60 * MIN + MIN)
    [signal] = tuned.derived("Checkout Abandoned")
    assert signal.timestamp == T0 + MIN + dt.timedelta(hours=2)


def test_stage_engaged_within_moves_loyalty_to_decision_on_time(tuned: Shop) -> None:
    tuned.send(T0, "Order Completed", {"order_id": "o-1", "total": 40.0})
    tuned.send(T0 + dt.timedelta(days=1), "Product Used")
    tuned.tick(T0 + dt.timedelta(days=5))
    moves = [(e.properties["to"], e.timestamp) for e in tuned.derived("Journey Stage Changed")]
    assert moves[-2:] == [
        ("loyalty", T0 + dt.timedelta(days=1)),
        ("decision", T0 + dt.timedelta(days=4)),
    ]


def test_channel_switch_window_limits_channel_switched(tuned: Shop) -> None:
    def on(at: dt.datetime, channel: str) -> None:
        tuned.clock.set(max(tuned.clock.now(), at))
        body = {
            "type": "page",
            "userId": "u-1",
            "name": "Home",
            "messageId": str(uuid.uuid4()),
            "timestamp": at.isoformat(),
            "context": {"channel": channel},
        }
        envelope = messages.Envelope(messages=[msgspec.Raw(orjson.dumps(body))], single=False)
        assert tuned.juncture.ingestor.ingest_sync(envelope, "web").receipt.stored == 1
        caught_up(tuned.juncture)

    on(T0, "web")
    on(T0 + 4 * MIN, "app")  # inside 5 minutes: a switch
    on(T0 + 10 * MIN, "web")  # six minutes later: too late to count as one
    assert [e.timestamp for e in tuned.derived("Channel Switched")] == [T0 + 4 * MIN]


def test_the_settings_defaults_are_the_cores() -> None:
    wired, core = wiring.engine_config(Settings()), EngineConfig()
    assert (wired.identity, wired.profile, wired.signals, wired.stage) == (
        core.identity,
        core.profile,
        core.signals,
        core.stage,
    )


def test_a_bad_duration_names_the_setting() -> None:
    with pytest.raises(pydantic.ValidationError) as caught:
        Settings(cart_quiet="soon")
    assert "cart_quiet" in str(caught.value)
    assert "bad duration 'soon'" in str(caught.value)
    assert Settings(session_gap="PT45M").session_gap == 45 * MIN


RENAMED = {
    "cart_quiet": "cart_abandon_after",
    "checkout_quiet": "checkout_abandon_after",
    "repeat_views": "interest_repeat_views",
    "long_view": "interest_long_view",
    "lapsed_after": "stage_lapsed_after",
    "loyalty_orders": "stage_loyalty_orders",
    "engaged_within": "stage_engaged_within",
}


@pytest.mark.parametrize(("name", "old"), sorted(RENAMED.items()))
def test_a_renamed_setting_is_read_under_its_old_variable_too(
    name: str, old: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    value = "7" if name in {"repeat_views", "loyalty_orders"} else "7m"
    monkeypatch.setenv(f"JUNCTURE_{old.upper()}", value)
    read = getattr(Settings(), name)
    assert read == getattr(Settings.model_validate({name: value}), name)
    assert read != Settings.model_fields[name].default
    monkeypatch.setenv(f"JUNCTURE_{name.upper()}", value.replace("7", "8"))  # the new name wins
    assert getattr(Settings(), name) == getattr(
        Settings.model_validate({name: value.replace("7", "8")}), name
    )


def test_a_bad_old_variable_names_the_setting_and_its_old_name(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("JUNCTURE_STAGE_LAPSED_AFTER", "soon")
    with pytest.raises(InvalidSettings, match="JUNCTURE_LAPSED_AFTER or JUNCTURE_STAGE_LAPSED"):
        settings.load()


def test_every_threshold_setting_is_a_field_of_the_engine_config() -> None:
    tuned = Settings(cart_quiet="7m", repeat_views=5, long_view="2m", loyalty_orders=4)
    signals, stage = wiring.engine_config(tuned).signals, wiring.engine_config(tuned).stage
    assert (signals.cart_quiet, signals.repeat_views, signals.long_view) == (7 * MIN, 5, 2 * MIN)
    assert stage.loyalty_orders == 4
