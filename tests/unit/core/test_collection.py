"""Consent to collection read from messages (pure)."""

from __future__ import annotations

import datetime as dt

from juncture.core import collection
from juncture.core.events import Event

NOW = dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC)


def _event(**fields: object) -> Event:
    return Event(
        source="s",
        message_id="m",
        type="track",
        timestamp=NOW,
        received_at=NOW,
        event="Product Viewed",
        anonymous_id="a-1",
        properties={"product_id": "P1"},
        **fields,  # type: ignore[arg-type]
    )


def test_messages_without_a_consent_manager_pass_as_they_are() -> None:
    plain = _event(context={"ip": "203.0.113.9"})
    assert collection.apply([plain])[0] is plain


def test_rudderstack_denied_ids_and_segment_preferences_both_refuse() -> None:
    rudder = _event(context={"consentManagement": {"deniedConsentIds": ["Personalization"]}})
    segment = _event(context={"consent": {"categoryPreferences": {"Analytics": False}}})
    allowed = _event(context={"consent": {"categoryPreferences": {"Analytics": True}}})
    kept = collection.apply([rudder, segment, allowed])
    assert [e.properties for e in kept] == [{}, {}, {"product_id": "P1"}]
    dropped = collection.apply([rudder, allowed], collection.CollectionRules(refused="drop"))
    assert dropped == [allowed]
    keep = collection.CollectionRules(refused="keep")
    assert collection.apply([segment], keep)[0].properties == {"product_id": "P1"}


def test_minimal_keeps_who_what_when_and_the_consent_only() -> None:
    consent = {"categoryPreferences": {"Analytics": False}}
    refused = _event(
        user_id="u-1",
        traits={"email": "a@example.com"},
        context={"consent": consent, "ip": "203.0.113.9", "page": {"url": "https://shop"}},
    )
    [kept] = collection.apply([refused])
    assert (kept.user_id, kept.anonymous_id, kept.event, kept.timestamp) == (
        "u-1",
        "a-1",
        "Product Viewed",
        NOW,
    )
    assert (kept.traits, kept.properties, kept.context) == ({}, {}, {"consent": consent})


def test_do_not_sell_is_recorded_as_sharing_refused_also_when_stored_minimally() -> None:
    by_trait = _event(context={"traits": {"do_not_sell": True, "consent": {"*": {"x": True}}}})
    both = _event(
        context={"consent": {"categoryPreferences": {"Analytics": False, "DataSharing": False}}}
    )
    for event in collection.apply([by_trait, both]):
        assert event.context["traits"]["consent"]["*"]["sharing"] is False
    assert collection.apply([by_trait])[0].context["traits"]["consent"]["*"]["x"] is True
