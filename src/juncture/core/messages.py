"""From request bytes to :class:`~juncture.core.events.Event`: Segment's wire format.

Pure: the receive time is a parameter. A body is first *parsed* (the envelope: is it JSON,
is it an object, where are the messages, which write key does it carry) and then each
message is *normalized* on its own, so that one bad message in a batch rejects only itself.
Follows the Segment HTTP Tracking API spec: ``/v1/{track,identify,page,screen,group,alias}``
take one message, ``/v1/batch`` (and ``/v1/import``) take ``{"batch": [...]}`` with optional
batch-level ``sentAt``, ``context`` and ``integrations`` applied to every message.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any, Final, TypeVar

import msgspec

from juncture.core import bounds
from juncture.core.events import MESSAGE_TYPES, UTC, Event
from juncture.errors import MalformedBody, PayloadTooLarge

MAX_EVENT_BYTES: Final = 32 * 1024
MAX_BATCH_BYTES: Final = 500 * 1024

Scalar = str | int | float | None
_T = TypeVar("_T")


class Rejection(msgspec.Struct, frozen=True, kw_only=True):
    """A message that was not accepted: kept in quarantine with the reason."""

    index: int
    code: str
    message: str
    path: str
    raw: bytes
    message_id: str | None = None

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "index": self.index,
            "code": self.code,
            "message": self.message,
            "path": self.path,
        }
        if self.message_id is not None:
            out["messageId"] = self.message_id
        return out


class Envelope(msgspec.Struct, frozen=True, kw_only=True):
    """A parsed body: the raw messages and what the batch says about all of them."""

    messages: list[msgspec.Raw]
    type_hint: str | None = None
    sent_at: Scalar = None
    context: dict[str, Any] | None = None
    integrations: dict[str, Any] | None = None
    write_key: str | None = None
    path_prefix: str = "$"
    single: bool = True


class _Batch(msgspec.Struct, rename="camel"):
    batch: list[msgspec.Raw]
    sent_at: Scalar = None
    context: dict[str, Any] | None = None
    integrations: dict[str, Any] | None = None
    write_key: str | None = None


class _KeyOnly(msgspec.Struct, rename="camel"):
    write_key: str | None = None


class _Wire(msgspec.Struct, rename="camel"):
    type: str | None = None
    message_id: Scalar = None
    user_id: Scalar = None
    anonymous_id: Scalar = None
    event: str | None = None
    name: str | None = None
    category: str | None = None
    group_id: Scalar = None
    previous_id: Scalar = None
    timestamp: Scalar = None
    original_timestamp: Scalar = None
    sent_at: Scalar = None
    properties: dict[str, Any] | None = None
    traits: dict[str, Any] | None = None
    context: dict[str, Any] | None = None
    integrations: dict[str, Any] | None = None


_batch_decoder: Final = msgspec.json.Decoder(_Batch)
_key_decoder: Final = msgspec.json.Decoder(_KeyOnly)
_wire_decoder: Final = msgspec.json.Decoder(_Wire)


class MessageError(ValueError):
    """One message is invalid; ``path`` points into it (``$.userId``)."""

    def __init__(self, code: str, message: str, path: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.path = path


def parse_single(body: bytes, type_hint: str | None) -> Envelope:
    """Parse the body of a single-message endpoint (``/v1/track`` ...). ``type_hint`` is the
    endpoint's type; None takes the type from the message (a quarantined batch item).

    Raises :class:`~juncture.errors.MalformedBody` or :class:`PayloadTooLarge` when the body
    as a whole cannot be taken.
    """
    if len(body) > MAX_EVENT_BYTES:
        raise PayloadTooLarge(
            f"event is {len(body)} bytes; the limit is {MAX_EVENT_BYTES} bytes per event"
        )
    key = _decode_body(_key_decoder, body)
    return Envelope(messages=[msgspec.Raw(body)], type_hint=type_hint, write_key=key.write_key)


def parse_batch(body: bytes) -> Envelope:
    """Parse a ``/v1/batch`` body: ``{"batch": [...], "sentAt": ..., "context": ...}``."""
    if len(body) > MAX_BATCH_BYTES:
        raise PayloadTooLarge(
            f"body is {len(body)} bytes; the limit is {MAX_BATCH_BYTES} bytes per request"
        )
    batch = _decode_body(_batch_decoder, body)
    for name, value in (("context", batch.context), ("integrations", batch.integrations)):
        try:
            bounds.check_tree(value, f"$.{name}")
        except bounds.OutOfBounds as exc:
            raise MalformedBody(exc.message, code="invalid_value", where=exc.path) from exc
    return Envelope(
        messages=batch.batch,
        sent_at=batch.sent_at,
        context=batch.context,
        integrations=batch.integrations,
        write_key=batch.write_key,
        path_prefix="$.batch",
        single=False,
    )


def _decode_body(decoder: msgspec.json.Decoder[_T], body: bytes) -> _T:
    try:
        return decoder.decode(body)
    except msgspec.ValidationError as exc:
        raise MalformedBody(_clean(exc), code="invalid_body", where=_path(exc)) from exc
    except msgspec.DecodeError as exc:
        raise MalformedBody(f"body is not valid JSON: {_clean(exc)}", where="$") from exc
    except RecursionError as exc:
        raise MalformedBody(
            f"body is nested too deeply; the limit is {bounds.MAX_DEPTH} levels",
            code="invalid_value",
            where="$",
        ) from exc


def normalize(
    envelope: Envelope, *, source: str, received_at: dt.datetime
) -> tuple[list[Event], list[Rejection]]:
    """Turn every message of an envelope into an Event, or a Rejection saying why not."""
    events: list[Event] = []
    rejected: list[Rejection] = []
    batch_sent_at = _time_or_none(envelope.sent_at)
    for index, raw in enumerate(envelope.messages):
        try:
            events.append(
                _event(
                    raw,
                    envelope,
                    source=source,
                    received_at=received_at,
                    batch_sent_at=batch_sent_at,
                )
            )
        except MessageError as exc:
            prefix = "$" if envelope.single else f"{envelope.path_prefix}[{index}]"
            rejected.append(
                Rejection(
                    index=index,
                    code=exc.code,
                    message=exc.message,
                    path=prefix + exc.path[1:],
                    raw=bytes(raw),
                    message_id=_peek_message_id(raw),
                )
            )
    return events, rejected


def _event(
    raw: msgspec.Raw,
    envelope: Envelope,
    *,
    source: str,
    received_at: dt.datetime,
    batch_sent_at: dt.datetime | None,
) -> Event:
    if len(raw) > MAX_EVENT_BYTES:
        raise MessageError(
            "event_too_large",
            f"event is {len(raw)} bytes; the limit is {MAX_EVENT_BYTES} bytes per event",
            "$",
        )
    wire = _decode_message(raw)
    kind = envelope.type_hint or wire.type
    user_id = _text(wire.user_id)
    anonymous_id = _text(wire.anonymous_id)
    _check(wire, kind, user_id, anonymous_id)
    assert kind is not None
    _bounded(wire, raw)
    stamped = _time(wire.timestamp, "$.timestamp")
    original = _time(wire.original_timestamp, "$.originalTimestamp") or stamped
    sent_at = _time(wire.sent_at, "$.sentAt") or batch_sent_at
    timestamp = event_time(stamped, original, sent_at, received_at)
    if not bounds.within_time(timestamp):
        raise MessageError(
            "invalid_timestamp",
            f"corrected for the device's clock (receivedAt - (sentAt - timestamp)), the time "
            f"is {timestamp:%Y-%m-%d}, outside {bounds.time_range()}",
            "$.timestamp",
        )
    # Positional, in Event's field order: msgspec matches each keyword against the fields
    # one by one, which made the 18-keyword call most of the cost of building an Event.
    return Event(
        source,
        _text(wire.message_id) or _derived_id(raw),  # message_id
        kind,  # type
        timestamp,
        received_at,
        0,  # seq
        None,  # profile_id
        wire.event,
        wire.name,
        wire.category,
        user_id,
        anonymous_id,
        _text(wire.group_id),
        _text(wire.previous_id),
        original,  # original_timestamp
        sent_at,
        wire.properties or {},
        wire.traits or {},
        _merged(envelope.context, wire.context),
        _merged(envelope.integrations, wire.integrations),
    )


def _decode_message(raw: msgspec.Raw) -> _Wire:
    try:
        return _wire_decoder.decode(raw)
    except msgspec.ValidationError as exc:
        raise MessageError("invalid_type", _clean(exc), _path(exc)) from exc
    except msgspec.DecodeError as exc:
        raise MessageError("malformed_json", f"not valid JSON: {_clean(exc)}", "$") from exc
    except RecursionError as exc:
        raise MessageError(
            "invalid_value", f"nested deeper than {bounds.MAX_DEPTH} levels", "$"
        ) from exc


_ID_FIELDS: Final = (
    ("message_id", "$.messageId"),
    ("user_id", "$.userId"),
    ("anonymous_id", "$.anonymousId"),
    ("group_id", "$.groupId"),
    ("previous_id", "$.previousId"),
    ("event", "$.event"),
    ("name", "$.name"),
    ("category", "$.category"),
)
_TREE_FIELDS: Final = (
    ("properties", "$.properties"),
    ("traits", "$.traits"),
    ("context", "$.context"),
    ("integrations", "$.integrations"),
)


def _bounded(wire: _Wire, raw: msgspec.Raw) -> None:
    """Every value of the message within :mod:`~juncture.core.bounds`. On the hot path: the
    ids are measured in place, and the decoded values are walked only when the bytes say a
    value might be out of bounds (``bounds.may_exceed``)."""
    data = bytes(raw)
    suspect = bounds.may_exceed(data)  # False also proves there is no NUL
    # JSON carries a NUL only as the escape \u0000: searched for again only when suspect.
    nul = suspect and b"\\u0000" in data
    try:
        for field, path in _ID_FIELDS:
            value = getattr(wire, field)
            if type(value) is str:
                if len(value) > bounds.MAX_ID or (nul and "\x00" in value):
                    bounds.check_id(value, path)
            elif value is not None:
                bounds.check_id(_text(value) or "", path)
        if suspect:
            for field, path in _TREE_FIELDS:
                value = getattr(wire, field)
                if value:
                    bounds.check_tree(value, path, nul=nul)
        if len(data) > bounds.MAX_ID:  # else no string in it is longer than an id may be
            _bounded_names(wire)
    except bounds.OutOfBounds as exc:
        raise MessageError("invalid_value", exc.message, exc.path) from exc


def _bounded_names(wire: _Wire) -> None:
    if wire.properties:
        bounds.check_named(wire.properties, "$.properties")
    device = wire.context.get("device") if wire.context else None
    if isinstance(device, dict) and isinstance(device.get("id"), str):
        bounds.check_id(device["id"], "$.context.device.id")


def event_time(
    stamped: dt.datetime | None,
    original: dt.datetime | None,
    sent_at: dt.datetime | None,
    received_at: dt.datetime,
) -> dt.datetime:
    """The time of the event: the caller's explicit ``timestamp`` when the message also
    carries a different ``originalTimestamp``, else the device clock corrected for skew.

    A client that stamps ``originalTimestamp`` itself (RudderStack's Node SDK does, with the
    clock at the call) leaves ``timestamp`` to the caller, who sets it only to say when the
    event happened (a historical event): correcting it would move it to the call's time.
    Without ``originalTimestamp``, ``timestamp`` is the device clock (Segment's libraries
    stamp it when the caller does not) and :func:`corrected_timestamp` applies.

    >>> past = dt.datetime(2025, 6, 1, tzinfo=UTC)
    >>> now = dt.datetime(2026, 1, 1, 12, tzinfo=UTC)
    >>> event_time(past, now, now, now).isoformat()
    '2025-06-01T00:00:00+00:00'
    """
    if stamped is not None and original is not None and stamped != original:
        return stamped
    return corrected_timestamp(original, sent_at, received_at)


def corrected_timestamp(
    original: dt.datetime | None, sent_at: dt.datetime | None, received_at: dt.datetime
) -> dt.datetime:
    """Segment's clock-skew correction: ``receivedAt - (sentAt - originalTimestamp)``.

    A client whose clock is an hour fast sends both readings an hour fast; the difference is
    how long the event waited on the device, which we subtract from our own receive time.
    Without ``sentAt`` (historical imports) the client's timestamp is taken as it is.

    >>> t = dt.datetime(2026, 1, 1, 12, tzinfo=UTC)
    >>> fast = dt.timedelta(hours=1)
    >>> corrected_timestamp(t + fast - dt.timedelta(seconds=5), t + fast, t).isoformat()
    '2026-01-01T11:59:55+00:00'
    """
    if original is None:
        return received_at
    if sent_at is None:
        return original
    return received_at - (sent_at - original)


def _check(wire: _Wire, kind: str | None, user_id: str | None, anonymous_id: str | None) -> None:
    """``user_id`` and ``anonymous_id`` are the message's ids as :func:`_text` reads them."""
    if kind is None:
        raise MessageError("missing_field", "`type` is required in a batch message", "$.type")
    if kind not in MESSAGE_TYPES:
        raise MessageError(
            "invalid_value",
            f"unknown type {kind!r}; expected one of {', '.join(sorted(MESSAGE_TYPES))}",
            "$.type",
        )
    if user_id is None and anonymous_id is None:
        raise MessageError(
            "missing_field", "either `userId` or `anonymousId` is required", "$.userId"
        )
    if kind == "track" and not wire.event:
        raise MessageError("missing_field", "a track call needs a non-empty `event`", "$.event")
    if kind == "group" and _text(wire.group_id) is None:
        raise MessageError("missing_field", "a group call needs `groupId`", "$.groupId")
    if kind == "alias" and (_text(wire.previous_id) is None or user_id is None):
        raise MessageError(
            "missing_field", "an alias call needs `previousId` and `userId`", "$.previousId"
        )


def parse_time(value: str | int | float) -> dt.datetime:
    """Parse the timestamp forms real clients send; naive times are taken as UTC.

    ISO 8601 / RFC 3339 with ``Z`` or an offset, with or without fractions, with a space or
    a ``T``; and epoch seconds or milliseconds as numbers or digit strings.

    >>> parse_time("2026-03-01T10:00:00.123Z").isoformat()
    '2026-03-01T10:00:00.123000+00:00'
    >>> parse_time(1772359200000).isoformat()
    '2026-03-01T10:00:00+00:00'
    """
    if isinstance(value, str):
        text = value.strip()
        if text.replace(".", "", 1).isdigit():
            return parse_time(float(text))
        parsed = dt.datetime.fromisoformat(text)
        if parsed.tzinfo is UTC:  # "Z" and "+00:00": already what astimezone would return
            return parsed
        return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    seconds = value / 1000 if abs(value) > 100_000_000_000 else value
    return dt.datetime.fromtimestamp(seconds, UTC)


def _time(value: Scalar, path: str) -> dt.datetime | None:
    if value is None or value == "":
        return None
    try:
        found = parse_time(value)
    except (ValueError, OverflowError, OSError) as exc:
        raise MessageError("invalid_timestamp", f"cannot read {value!r} as a time", path) from exc
    if not bounds.within_time(found):
        raise MessageError("invalid_timestamp", f"{value!r} is outside {bounds.time_range()}", path)
    return found


def _time_or_none(value: Scalar) -> dt.datetime | None:
    try:
        return _time(value, "$.sentAt")
    except MessageError:
        return None


def _text(value: Scalar) -> str | None:
    if type(value) is str:  # the usual case first: ids are strings
        return value or None
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value)
    return text if text else None


def _merged(outer: dict[str, Any] | None, inner: dict[str, Any] | None) -> dict[str, Any]:
    if not outer:
        return inner or {}
    return {**outer, **(inner or {})}


def _derived_id(raw: msgspec.Raw) -> str:
    # Deterministic, so that a client retrying the same body without ids is still deduped.
    return "auto-" + hashlib.sha256(bytes(raw)).hexdigest()[:32]


def _peek_message_id(raw: msgspec.Raw) -> str | None:
    try:
        peek = msgspec.json.decode(raw, type=dict[str, Any])
    except msgspec.MsgspecError:
        return None
    value = peek.get("messageId")
    return value if isinstance(value, str) else None


def _clean(exc: Exception) -> str:
    return str(exc).split(" - at `", 1)[0]


def _path(exc: Exception) -> str:
    text = str(exc)
    if " - at `" in text:
        return text.split(" - at `", 1)[1].rstrip("`")
    return "$"
