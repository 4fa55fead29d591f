"""The demo's pages ask for store events at the shopper's own store: the store of the city
their account names, else the first store they were seen in; a store entered asks for
presence, then for that store's events."""

from __future__ import annotations

from typing import Any

from juncture.demo import pages

CITIES = {"Berlin": "store-ber", "London": "store-lon"}


def asked(batch: list[dict[str, Any]], home: dict[str, str]) -> list[tuple[str, ...]]:
    found = pages._asks(batch, (home, CITIES), 1.0, 1.0)
    return [tuple(f"{a.touchpoint}@{a.store_code}" for a in asks) for _, asks in found]


def opened(user: str) -> dict[str, Any]:
    return {"type": "track", "event": "Application Opened", "userId": user}


def test_the_app_home_asks_for_events_at_the_store_of_the_account_s_city() -> None:
    home: dict[str, str] = {}
    identify = {"type": "identify", "userId": "u1", "traits": {"city": "Berlin"}}
    assert asked([opened("u1")], home)[-1] == ("event@None",)  # not known yet: any store
    assert asked([identify, opened("u1")], home)[-1] == ("event@store-ber",)
    visited = {"type": "track", "event": "Store Visited", "userId": "u1",
               "properties": {"store_id": "store-lon"}}  # fmt: skip
    assert asked([visited, opened("u1")], home)[-1] == ("event@store-ber",)  # the account's
    assert home == {"u1": "store-ber"}


def test_a_store_entered_asks_presence_then_its_events() -> None:
    home: dict[str, str] = {}
    visited = {"type": "track", "event": "Store Visited", "userId": "u2",
               "properties": {"store_id": "store-lon"}}  # fmt: skip
    assert asked([visited], home) == [("presence@store-lon", "event@store-lon")]
    assert asked([opened("u2")], home)[-1] == ("event@store-lon",)  # first seen there
