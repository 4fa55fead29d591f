"""An event's time as real tracking libraries send it: a caller's explicit, historical
``timestamp`` is the event's time, also when the library stamps ``originalTimestamp`` with
the clock at the call beside it."""

from __future__ import annotations

import datetime as dt

import httpx
from rudderstack.analytics.client import Client as RudderClient
from segment.analytics.client import Client as SegmentClient

from tests.conftest import WRITE_KEY, LiveServer, stored

# A purchase of last spring, sent today: what a backfill or a point-of-sale upload does.
HISTORICAL = dt.datetime(2026, 3, 14, 15, 9, 26, 535000, tzinfo=dt.UTC)


def _time(event: dict[str, object], field: str) -> dt.datetime:
    return dt.datetime.fromisoformat(str(event[field]))


def test_segment_python_client_historical_timestamp_is_the_event_time(live: LiveServer) -> None:
    errors: list[Exception] = []
    client = SegmentClient(
        WRITE_KEY, host=live.url, sync_mode=True, on_error=lambda e, _b: errors.append(e)
    )
    client.track(
        "pos-1", "Order Completed", {"order_id": "O-1", "total": 30.0}, timestamp=HISTORICAL
    )
    client.flush()
    assert errors == []
    [event] = stored(live, userId="pos-1")
    # Segment's library sends only `timestamp` (and sentAt): the skew correction moves it by
    # the time the request took, no more.
    assert abs(_time(event, "timestamp") - HISTORICAL) < dt.timedelta(seconds=2)


def test_rudderstack_python_client_historical_timestamp_is_the_event_time(
    live: LiveServer,
) -> None:
    errors: list[Exception] = []
    client = RudderClient(
        WRITE_KEY, host=live.url, sync_mode=True, on_error=lambda e, _b: errors.append(e)
    )
    client.track(
        "pos-2", "Order Completed", {"order_id": "O-2", "total": 12.5}, timestamp=HISTORICAL
    )
    client.flush()
    assert errors == []
    [event] = stored(live, userId="pos-2")
    assert event["context"]["library"]["name"] == "analytics-python"
    assert abs(_time(event, "timestamp") - HISTORICAL) < dt.timedelta(seconds=2)


def test_explicit_timestamp_beside_the_call_clock_is_kept(live: LiveServer) -> None:
    """The body RudderStack's Node SDK (@rudderstack/rudder-sdk-node 3.0) posts for
    ``client.track({..., timestamp})``: it sets ``originalTimestamp = new Date()`` on every
    message and ``sentAt`` on the batch, and passes the caller's ``timestamp`` through."""
    now = dt.datetime.now(dt.UTC)
    device_fast = now + dt.timedelta(hours=1)  # the device's clock, an hour fast
    body = {
        "batch": [
            {
                "type": "track",
                "event": "Order Completed",
                "userId": "pos-3",
                "properties": {"order_id": "O-3", "total": 99.0},
                "timestamp": HISTORICAL.isoformat(),
                "originalTimestamp": device_fast.isoformat(),
                "messageId": "node-historical-1",
                "context": {"library": {"name": "analytics-node", "version": "3.0.13"}},
            },
            {
                "type": "track",
                "event": "Product Viewed",
                "userId": "pos-3",
                "originalTimestamp": (device_fast - dt.timedelta(seconds=30)).isoformat(),
                "messageId": "node-live-1",
            },
        ],
        "sentAt": device_fast.isoformat(),
    }
    r = httpx.post(f"{live.url}/v1/batch", json=body, auth=(WRITE_KEY, ""))
    assert r.status_code == 200, r.text
    by_id = {e["messageId"]: e for e in stored(live, userId="pos-3")}
    historical = by_id["node-historical-1"]
    assert _time(historical, "timestamp") == HISTORICAL
    # The device clock reading is kept beside it, as sent.
    assert _time(historical, "originalTimestamp") == device_fast.replace(
        microsecond=device_fast.microsecond // 1000 * 1000
    )
    # Without an explicit time the device clock is still corrected: 30 s before receipt.
    live_event = by_id["node-live-1"]
    waited = _time(live_event, "receivedAt") - _time(live_event, "timestamp")
    assert dt.timedelta(seconds=29) < waited < dt.timedelta(seconds=32)
