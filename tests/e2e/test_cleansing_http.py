"""Cleansing at the edge, over HTTP with Segment's Python client: the identifying traits a
shop sends are stored and matched in one spelling each."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from segment.analytics.client import Client

from juncture import settings, wiring
from juncture.errors import InvalidSettings
from tests.conftest import ADMIN_TOKEN, WRITE_KEY, LiveServer, settings_for, stored

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


@pytest.fixture
def shop(database_url: str) -> Iterator[LiveServer]:
    server = LiveServer(wiring.build(settings_for(database_url, default_region="DE"))).start()
    yield server
    server.stop()


def _send(server: LiveServer, *calls: tuple[str, dict[str, object]]) -> None:
    errors: list[Exception] = []
    client = Client(
        WRITE_KEY, host=server.url, sync_mode=True, on_error=lambda e, _b: errors.append(e)
    )
    for user_id, traits in calls:
        client.identify(user_id, traits)
    client.flush()
    assert errors == []


def _profile(server: LiveServer, **query: str) -> httpx.Response:
    return httpx.get(
        f"{server.url}/v1/profiles", params={**query, "consistent": "true"}, headers=ADMIN
    )


def test_email_phone_and_country_are_stored_clean_and_found_by_the_clean_address(
    shop: LiveServer,
) -> None:
    _send(
        shop,
        (
            "c-1",
            {
                "email": "  Foo.Bar@Example.COM ",
                "phone": "030 1234567",  # national: read in the default region
                "address": {"city": "Berlin", "country": "Germany"},
            },
        ),
        ("c-2", {"email": "ann@example.com", "phone": "(415) 555-2671", "country": "usa"}),
        ("c-3", {"phone": "not a number", "country": "Narnia"}),
    )
    found = _profile(shop, email="foo.bar@example.com")
    assert found.status_code == 200, found.text
    [first] = found.json()["profiles"]
    assert first["userIds"] == ["c-1"]
    assert first["traits"]["email"] == "foo.bar@example.com"
    assert first["traits"]["phone"] == "+49301234567"
    assert first["traits"]["address"] == {"city": "Berlin", "country": "DE"}
    # The stored event holds the clean values too (replay rebuilds the same profile).
    [event] = stored(shop, userId="c-1")
    assert event["traits"]["email"] == "foo.bar@example.com"
    # A national number is read in the traits' own country before the default region.
    [second] = _profile(shop, userId="c-2").json()["profiles"]
    assert (second["traits"]["phone"], second["traits"]["country"]) == ("+14155552671", "US")
    # What cannot be read is kept as sent.
    [third] = _profile(shop, userId="c-3").json()["profiles"]
    assert third["traits"]["phone"] == "not a number"
    assert third["traits"]["country"] == "Narnia"


def test_a_default_region_that_is_no_region_is_refused_naming_the_setting() -> None:
    with pytest.raises(InvalidSettings, match="--default-region: must be an ISO 3166-1"):
        settings.load(default_region="Germany!")
    assert settings.load(default_region="de").default_region == "DE"
