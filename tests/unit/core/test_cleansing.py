"""Cleansing of identifying traits (pure)."""

from __future__ import annotations

import datetime as dt

from juncture.core import cleansing
from juncture.core.events import Event

NOW = dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC)
RULES = cleansing.Rules(default_region="GB")


def _event(**fields: object) -> Event:
    return Event(
        source="s",
        message_id="m",
        type="identify",
        timestamp=NOW,
        received_at=NOW,
        user_id="u",
        **fields,  # type: ignore[arg-type]
    )


def test_an_event_without_traits_or_already_clean_is_returned_as_it_is() -> None:
    bare = _event(properties={"email": " Not@Traits.example "})
    assert cleansing.cleanse(bare, RULES) is bare
    clean = _event(traits={"email": "a@b.example", "phone": "+442079460958", "country": "GB"})
    assert cleansing.cleanse(clean, RULES) is clean


def test_context_traits_are_cleaned_and_the_rest_of_the_context_kept() -> None:
    event = _event(context={"ip": "203.0.113.9", "traits": {"email": "A@B.Example"}})
    cleaned = cleansing.cleanse(event, RULES)
    assert cleaned.context == {"ip": "203.0.113.9", "traits": {"email": "a@b.example"}}
    assert event.context["traits"] == {"email": "A@B.Example"}  # the input is not changed


def test_phone_region_comes_from_the_traits_country_then_the_default() -> None:
    national = "020 7946 0958"
    assert cleansing.clean_traits({"phone": national}, RULES)["phone"] == "+442079460958"
    assert (
        cleansing.clean_traits({"phone": "030 1234567", "country": "Deutschland"}, RULES)["phone"]
        == "030 1234567"
    )  # an unknown country spelling: the default region, where it is invalid
    cleaned = cleansing.clean_traits({"phone": "030 1234567", "country": "deu"}, RULES)
    assert cleaned == {"phone": "+49301234567", "country": "DE"}
    assert cleansing.clean_traits({"phone": national}, cleansing.Rules())["phone"] == national


def test_numbers_as_json_numbers_are_read_too_and_booleans_are_not() -> None:
    assert cleansing.clean_traits({"phone": 2079460958}, RULES)["phone"] == "+442079460958"
    assert cleansing.clean_traits({"phone": True}, RULES) == {"phone": True}
