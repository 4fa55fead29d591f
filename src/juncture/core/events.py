"""The event as the core sees it: a validated, normalized Segment message.

An :class:`Event` is what ingestion produces and what the store appends. Its ``timestamp``
is the skew-corrected event time (UTC) that every downstream computation uses; the client's
own clock readings are kept in ``original_timestamp`` and ``sent_at`` for audit.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from typing import Any, Final

import msgspec

MESSAGE_TYPES: Final = frozenset({"track", "identify", "page", "screen", "group", "alias"})

UTC: Final = dt.UTC


class Event(msgspec.Struct, frozen=True):
    """One accepted message. ``seq`` is its position in the log (0 until appended).

    Build it with keywords; only the hottest path (``messages._event``) passes the fields
    by position, and ``tests/unit/core/test_events.py`` pins their order for it."""

    source: str
    message_id: str
    type: str
    timestamp: dt.datetime
    received_at: dt.datetime
    seq: int = 0
    profile_id: str | None = None  # set by identity resolution, before the event is stored
    event: str | None = None
    name: str | None = None
    category: str | None = None
    user_id: str | None = None
    anonymous_id: str | None = None
    group_id: str | None = None
    previous_id: str | None = None
    original_timestamp: dt.datetime | None = None
    sent_at: dt.datetime | None = None
    properties: dict[str, Any] = {}
    traits: dict[str, Any] = {}
    context: dict[str, Any] = {}
    integrations: dict[str, Any] = {}

    @property
    def display_name(self) -> str:
        """``event`` for tracks, ``name`` for pages and screens, else the type."""
        return self.event or self.name or self.type


class Body(msgspec.Struct, frozen=True, omit_defaults=True):
    """The part of an event kept as one JSON document in the store."""

    name: str | None = None
    category: str | None = None
    group_id: str | None = None
    previous_id: str | None = None
    original_timestamp: dt.datetime | None = None
    sent_at: dt.datetime | None = None
    properties: dict[str, Any] = {}
    traits: dict[str, Any] = {}
    context: dict[str, Any] = {}
    integrations: dict[str, Any] = {}


_body_encoder: Final = msgspec.json.Encoder()
_body_decoder: Final = msgspec.json.Decoder(Body)


def encode_body(event: Event) -> bytes:
    """The JSON document stored beside an event's indexed columns."""
    # Positional, in Body's field order: ten keywords cost more than the encoding.
    return _body_encoder.encode(
        Body(
            event.name,
            event.category,
            event.group_id,
            event.previous_id,
            event.original_timestamp,
            event.sent_at,
            event.properties,
            event.traits,
            event.context,
            event.integrations,
        )
    )


# The stored columns :func:`from_stored` reads, in its order.
STORED_COLUMNS: Final = (
    "seq",
    "source",
    "message_id",
    "type",
    "event",
    "user_id",
    "anonymous_id",
    "timestamp",
    "received_at",
    "body",
    "profile_id",
)


def from_row(
    *,
    seq: int,
    source: str,
    message_id: str,
    type: str,
    event: str | None,
    user_id: str | None,
    anonymous_id: str | None,
    timestamp: dt.datetime,
    received_at: dt.datetime,
    body: bytes | str,
    profile_id: str | None = None,
) -> Event:
    """Rebuild an :class:`Event` from its stored columns and body."""
    row = (seq, source, message_id, type, event, user_id, anonymous_id)
    return from_stored((*row, timestamp, received_at, body, profile_id), as_utc)


def from_stored(row: Sequence[Any], read_time: Callable[[Any], dt.datetime]) -> Event:
    """:func:`from_row` of the values of :data:`STORED_COLUMNS` in that order, its times
    read by ``read_time`` (which gives them in UTC): the engine reads every event of the
    log through here, where eleven keywords cost about 0.6 us a call."""
    seq, source, message_id, type_, event, user_id, anonymous_id = row[:7]
    timestamp, received_at, body, profile_id = row[7:]
    b = _body_decoder.decode(body)
    # Positional, in Event's field order: twenty keywords cost about as much as decoding
    # the body (1.9 us against 1.0 a call); tests/unit/core/test_events.py pins the order
    # and every field's place.
    return Event(
        source,
        message_id,
        type_,
        read_time(timestamp),
        read_time(received_at),
        seq,
        profile_id,
        event,
        b.name,
        b.category,
        user_id,
        anonymous_id,
        b.group_id,
        b.previous_id,
        b.original_timestamp,
        b.sent_at,
        b.properties,
        b.traits,
        b.context,
        b.integrations,
    )


def as_utc(value: dt.datetime) -> dt.datetime:
    """A timezone-aware UTC datetime; naive values are taken to be UTC already."""
    if value.tzinfo is UTC:
        return value
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def to_json(event: Event) -> dict[str, Any]:
    """The event in Segment's own field names, as the API returns it."""
    out: dict[str, Any] = {
        "seq": event.seq,
        "messageId": event.message_id,
        "type": event.type,
        "timestamp": _iso(event.timestamp),
        "receivedAt": _iso(event.received_at),
    }
    optional: dict[str, Any] = {
        "profileId": event.profile_id,
        "event": event.event,
        "name": event.name,
        "category": event.category,
        "userId": event.user_id,
        "anonymousId": event.anonymous_id,
        "groupId": event.group_id,
        "previousId": event.previous_id,
        "originalTimestamp": _iso(event.original_timestamp) if event.original_timestamp else None,
        "sentAt": _iso(event.sent_at) if event.sent_at else None,
        "properties": event.properties or None,
        "traits": event.traits or None,
        "context": event.context or None,
    }
    out.update({k: v for k, v in optional.items() if v is not None})
    return out


def _iso(value: dt.datetime) -> str:
    return as_utc(value).isoformat(timespec="milliseconds").replace("+00:00", "Z")
