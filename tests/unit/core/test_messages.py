"""Parsing and normalizing Segment messages (pure)."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from juncture.core import messages
from juncture.errors import MalformedBody, PayloadTooLarge

NOW = dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC)


def normalize(body: bytes, type_hint: str | None = None) -> tuple[list, list]:  # type: ignore[type-arg]
    envelope = (
        messages.parse_batch(body) if type_hint is None else messages.parse_single(body, type_hint)
    )
    return messages.normalize(envelope, source="s", received_at=NOW)


def test_batch_context_and_integrations_apply_to_every_message_message_wins() -> None:
    body = (
        b'{"batch":[{"type":"track","event":"A","userId":"u","context":{"ip":"x"}}],'
        b'"context":{"ip":"batch","locale":"de-DE"},"integrations":{"All":false}}'
    )
    [event], _ = normalize(body)
    assert event.context == {"ip": "x", "locale": "de-DE"}
    assert event.integrations == {"All": False}


def test_numeric_ids_become_strings_and_missing_message_id_is_derived_from_content() -> None:
    body = b'{"event":"A","userId":42,"anonymousId":7.0}'
    [first], _ = normalize(body, "track")
    [again], _ = normalize(body, "track")
    assert (first.user_id, first.anonymous_id) == ("42", "7")
    assert first.message_id.startswith("auto-") and first.message_id == again.message_id


def test_no_time_at_all_means_received_time_and_no_sent_at_means_as_given() -> None:
    [plain], _ = normalize(b'{"event":"A","userId":"u"}', "track")
    assert plain.timestamp == NOW
    [historic], _ = normalize(
        b'{"event":"A","userId":"u","timestamp":"2020-01-01T00:00:00Z"}', "track"
    )
    assert historic.timestamp == dt.datetime(2020, 1, 1, tzinfo=dt.UTC)


def test_explicit_timestamp_beside_a_different_original_timestamp_is_the_event_time() -> None:
    body = (
        b'{"event":"A","userId":"u","timestamp":"2020-01-01T00:00:00Z",'
        b'"originalTimestamp":"2026-05-01T13:00:00Z","sentAt":"2026-05-01T13:00:05Z"}'
    )
    [event], _ = normalize(body, "track")
    assert event.timestamp == dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    assert event.original_timestamp == dt.datetime(2026, 5, 1, 13, tzinfo=dt.UTC)


def test_equal_timestamp_and_original_timestamp_are_the_device_clock_corrected() -> None:
    body = (
        b'{"event":"A","userId":"u","timestamp":"2026-05-01T13:00:00Z",'
        b'"originalTimestamp":"2026-05-01T13:00:00Z","sentAt":"2026-05-01T13:00:05Z"}'
    )
    [event], _ = normalize(body, "track")
    assert event.timestamp == NOW - dt.timedelta(seconds=5)


@pytest.mark.parametrize(
    ("message", "code", "path"),
    [
        (b'{"userId":"u"}', "missing_field", "$.batch[0].type"),
        (b'{"type":"purchase","userId":"u"}', "invalid_value", "$.batch[0].type"),
        (b'{"type":"group","userId":"u"}', "missing_field", "$.batch[0].groupId"),
        (b'{"type":"alias","userId":"u"}', "missing_field", "$.batch[0].previousId"),
        (
            b'{"type":"track","event":"A","userId":"u","timestamp":"yesterday"}',
            "invalid_timestamp",
            "$.batch[0].timestamp",
        ),
        (
            b'{"type":"track","event":"A","userId":"u","context":{"a":1},"properties":"x"}',
            "invalid_type",
            "$.batch[0].properties",
        ),
        (b'{"type":"track","event":["A"],"userId":"u"}', "invalid_type", "$.batch[0].event"),
    ],
)
def test_each_invalid_message_says_what_and_where(message: bytes, code: str, path: str) -> None:
    events, [rejection] = normalize(b'{"batch":[' + message + b"]}")
    assert events == []
    assert (rejection.code, rejection.path) == (code, path)
    assert rejection.raw == message


def test_an_event_over_32_kb_in_a_batch_rejects_only_itself() -> None:
    big = b'{"type":"track","event":"A","userId":"u","properties":{"x":"' + b"a" * 33_000 + b'"}}'
    ok = b'{"type":"track","event":"B","userId":"u"}'
    events, [rejection] = normalize(b'{"batch":[' + big + b"," + ok + b"]}")
    assert [e.event for e in events] == ["B"]
    assert rejection.code == "event_too_large"


def test_body_level_errors() -> None:
    with pytest.raises(MalformedBody) as bad:
        messages.parse_batch(b'{"batch": {}}')
    assert bad.value.code == "invalid_body" and bad.value.where == "$.batch"
    with pytest.raises(MalformedBody):
        messages.parse_batch(b"\xff\xfe")
    with pytest.raises(PayloadTooLarge):
        messages.parse_batch(b" " * (messages.MAX_BATCH_BYTES + 1))


@given(
    skew=st.integers(min_value=-86_400 * 30, max_value=86_400 * 30),
    delay=st.integers(min_value=0, max_value=86_400),
)
def test_skew_correction_recovers_the_true_delay_whatever_the_device_clock(
    skew: int, delay: int
) -> None:
    device_now = NOW + dt.timedelta(seconds=skew)
    original = device_now - dt.timedelta(seconds=delay)
    corrected = messages.corrected_timestamp(original, device_now, NOW)
    assert NOW - corrected == dt.timedelta(seconds=delay)


@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_crash_the_parser(body: bytes) -> None:
    try:
        envelope = messages.parse_batch(body)
    except (MalformedBody, PayloadTooLarge):
        return
    events, rejected = messages.normalize(envelope, source="s", received_at=NOW)
    assert len(events) + len(rejected) == len(envelope.messages)


def test_rejection_raw_is_the_exact_message_bytes() -> None:
    raw = b'{"type":"track", "userId":"u"}'
    _, [rejection] = normalize(b'{"batch":[' + raw + b"]}")
    assert msgspec.json.decode(rejection.raw) == {"type": "track", "userId": "u"}
