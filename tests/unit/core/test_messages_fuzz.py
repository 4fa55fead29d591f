"""Fuzzing the ingest parser: whatever bytes or JSON a client sends, parsing raises only the
errors of a body that cannot be taken (MalformedBody, PayloadTooLarge), and normalizing
turns every message into an event or a rejection. Never another exception: that would be a
500 on the tracking API."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from juncture.core import messages
from juncture.core.events import MESSAGE_TYPES
from juncture.errors import BadInput

NOW = dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC)
FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
HINTS = [None, *sorted(MESSAGE_TYPES)]

numbers = st.one_of(
    st.integers(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 2**63, 2**64, 1e308, -1e308, 1e-320, 253402300800, -62135596800]),
)
texts = st.one_of(
    st.text(),
    st.text(st.characters(codec="utf-8"), max_size=5),
    st.sampled_from(
        [
            "",
            "\x00",
            "2026-05-01T12:00:00Z",
            "0001-01-01T00:00:00Z",
            "9999-12-31T23:59:59.999999+14:00",
            "2026-02-30",
            "2026-05-01T25:00:00",
            "+275760-09-13T00:00:00Z",
            "1e400",
            "NaN",
            "\ud800",
        ]
    ),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, texts)
json_ish = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(texts, inner, max_size=4)),
    max_leaves=12,
)
FIELDS = [
    "type",
    "messageId",
    "userId",
    "anonymousId",
    "event",
    "name",
    "category",
    "groupId",
    "previousId",
    "timestamp",
    "originalTimestamp",
    "sentAt",
    "properties",
    "traits",
    "context",
    "integrations",
    "writeKey",
]
segment_message = st.dictionaries(
    st.one_of(st.sampled_from(FIELDS), texts), json_ish, max_size=len(FIELDS) + 2
)


def dumps(value: Any) -> bytes:
    """JSON as clients write it, NaN, Infinity and lone surrogates included."""
    return json.dumps(value, allow_nan=True).encode("utf-8", "surrogatepass")


def parse(body: bytes, type_hint: str | None) -> messages.Envelope | BadInput:
    try:
        return (
            messages.parse_batch(body)
            if type_hint is None
            else messages.parse_single(body, type_hint)
        )
    except BadInput as exc:
        return exc


def take(body: bytes, type_hint: str | None) -> None:
    """Parse and normalize like the tracking API; a BadInput is the body's 4xx."""
    envelope = parse(body, type_hint)
    if isinstance(envelope, BadInput):
        assert envelope.status in (400, 413) and envelope.code and envelope.message
        return
    events, rejected = messages.normalize(envelope, source="src_fuzz", received_at=NOW)
    assert len(events) + len(rejected) == len(envelope.messages)
    for rejection in rejected:
        assert rejection.code and rejection.path.startswith("$")


@FUZZ
@given(body=st.binary(max_size=2048), type_hint=st.sampled_from(HINTS))
def test_any_bytes_are_taken_or_refused_as_bad_input(body: bytes, type_hint: str | None) -> None:
    take(body, type_hint)


@FUZZ
@given(message=segment_message, type_hint=st.sampled_from(HINTS[1:]))
def test_any_single_message_is_an_event_or_a_rejection(
    message: dict[str, Any], type_hint: str
) -> None:
    take(dumps(message), type_hint)


@FUZZ
@given(
    batch=st.lists(st.one_of(segment_message, json_ish), max_size=5),
    outer=st.dictionaries(
        st.sampled_from(["sentAt", "context", "integrations", "writeKey"]), json_ish
    ),
)
def test_any_batch_is_events_and_rejections(batch: list[Any], outer: dict[str, Any]) -> None:
    take(dumps({"batch": batch, **outer}), None)


@FUZZ
@given(value=json_ish, type_hint=st.sampled_from(HINTS))
def test_any_json_document_is_taken_or_refused_as_bad_input(
    value: Any, type_hint: str | None
) -> None:
    take(dumps(value), type_hint)


def test_deep_nesting_is_refused_as_bad_input() -> None:
    for depth in (100, 1_000, 100_000):
        take(b'{"batch":' + b"[" * depth + b"]" * depth + b"}", None)
        take(
            b'{"event":"A","userId":"u","properties":' + b"[" * depth + b"]" * depth + b"}", "track"
        )
