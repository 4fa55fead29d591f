"""Event and Body: the field orders that the hot paths build them by position in."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from juncture.core import messages
from juncture.core.events import (
    STORED_COLUMNS,
    Body,
    Event,
    as_utc,
    encode_body,
    from_row,
    from_stored,
)

NOW = dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC)


def test_event_field_order_is_the_one_messages_builds_it_in() -> None:
    assert Event.__struct_fields__ == (
        "source", "message_id", "type", "timestamp", "received_at", "seq", "profile_id",
        "event", "name", "category", "user_id", "anonymous_id", "group_id", "previous_id",
        "original_timestamp", "sent_at", "properties", "traits", "context", "integrations",
    )  # fmt: skip


def test_body_field_order_is_the_one_encode_body_builds_it_in() -> None:
    assert Body.__struct_fields__ == (
        "name", "category", "group_id", "previous_id", "original_timestamp", "sent_at",
        "properties", "traits", "context", "integrations",
    )  # fmt: skip


def test_every_field_of_a_normalized_event_lands_in_its_place() -> None:
    body = (
        b'{"type":"group","messageId":"m","userId":"u","anonymousId":"a","event":"E",'
        b'"name":"N","category":"C","groupId":"g","previousId":"p",'
        b'"originalTimestamp":"2026-05-01T11:00:00Z","sentAt":"2026-05-01T11:00:10Z",'
        b'"properties":{"p":1},"traits":{"t":2},"context":{"c":3},"integrations":{"i":4}}'
    )
    envelope = messages.parse_single(body, None)
    [event], rejected = messages.normalize(envelope, source="s", received_at=NOW)
    assert not rejected
    assert event == Event(
        source="s",
        message_id="m",
        type="group",
        timestamp=NOW - dt.timedelta(seconds=10),
        received_at=NOW,
        event="E",
        name="N",
        category="C",
        user_id="u",
        anonymous_id="a",
        group_id="g",
        previous_id="p",
        original_timestamp=dt.datetime(2026, 5, 1, 11, tzinfo=dt.UTC),
        sent_at=dt.datetime(2026, 5, 1, 11, 0, 10, tzinfo=dt.UTC),
        properties={"p": 1},
        traits={"t": 2},
        context={"c": 3},
        integrations={"i": 4},
    )
    stored = encode_body(event)
    assert msgspec.json.decode(stored) == {
        "name": "N",
        "category": "C",
        "group_id": "g",
        "previous_id": "p",
        "original_timestamp": "2026-05-01T11:00:00Z",
        "sent_at": "2026-05-01T11:00:10Z",
        "properties": {"p": 1},
        "traits": {"t": 2},
        "context": {"c": 3},
        "integrations": {"i": 4},
    }
    again = from_row(
        seq=0,
        source="s",
        message_id="m",
        type="group",
        event="E",
        user_id="u",
        anonymous_id="a",
        timestamp=event.timestamp,
        received_at=NOW,
        body=stored,
    )
    assert again == event
    stored_row = from_row(
        seq=7,
        source="s",
        message_id="m",
        type="group",
        event="E",
        user_id="u",
        anonymous_id="a",
        timestamp=event.timestamp,
        received_at=NOW,
        body=stored,
        profile_id="p1",
    )
    assert stored_row == msgspec.structs.replace(event, seq=7, profile_id="p1")


def test_from_stored_reads_the_stored_columns_in_their_order() -> None:
    event = Event(
        source="s", message_id="m", type="track", event="E", user_id="u", anonymous_id="a",
        timestamp=NOW, received_at=NOW + dt.timedelta(seconds=1), properties={"p": 1},
        context={"c": 3}, seq=7, profile_id="p1",
    )  # fmt: skip
    columns: dict[str, Any] = {name: getattr(event, name, None) for name in STORED_COLUMNS}
    columns["body"] = encode_body(event)
    row = tuple(columns[name] for name in STORED_COLUMNS)
    assert from_stored(row, as_utc) == event == from_row(**columns)
    # each time through the reader given, as the engine's read of SQLite's text does
    texts = {"timestamp": "2026-05-01 12:00:00", "received_at": "2026-05-01 12:00:01"}
    as_text = tuple(texts.get(name, columns[name]) for name in STORED_COLUMNS)
    read = from_stored(as_text, lambda text: dt.datetime.fromisoformat(text + "+00:00"))
    assert read == event
