"""The official Segment Python client, pointed at Juncture by its host setting only."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from segment.analytics import request as segment_request
from segment.analytics.client import Client

from tests.conftest import ADMIN_TOKEN, WRITE_KEY, LiveServer


class _FastClock(dt.datetime):
    """The device's clock, two hours fast: what the client stamps sentAt with."""

    @classmethod
    def now(cls, tz: Any = None) -> _FastClock:
        real = dt.datetime.now(tz)
        return cls.fromtimestamp((real + dt.timedelta(hours=2)).timestamp(), tz)


@pytest.mark.parametrize("use_gzip", [False, True])
def test_segment_python_client_events_are_stored_once_with_corrected_time(
    live: LiveServer, monkeypatch: pytest.MonkeyPatch, use_gzip: bool
) -> None:
    monkeypatch.setattr(segment_request, "datetime", _FastClock)
    errors: list[Exception] = []
    client = Client(
        WRITE_KEY,
        host=live.url,
        sync_mode=True,
        gzip=use_gzip,
        on_error=lambda e, _batch: errors.append(e),
    )
    fast_now = dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)
    client.identify("shopper-1", {"email": "s@example.com"}, timestamp=fast_now)
    client.track(
        "shopper-1",
        "Product Added",
        {"product_id": "P7", "price": 20.0},
        timestamp=fast_now - dt.timedelta(seconds=10),
        message_id="fixed-id-1",
    )
    client.track(
        "shopper-1",
        "Product Added",
        {"product_id": "P7", "price": 20.0},
        timestamp=fast_now,
        message_id="fixed-id-1",
    )  # a retry: same messageId
    client.page("shopper-1", "Shoes", "Running", {"url": "https://shop.example/shoes"})
    client.flush()
    assert errors == []
    events = httpx.get(
        f"{live.url}/v1/events",
        params={"userId": "shopper-1", "derived": "false"},
        headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
    ).json()["events"]
    assert [e["type"] for e in events] == ["identify", "track", "page"]
    added = events[1]
    assert added["messageId"] == "fixed-id-1"
    assert added["properties"] == {"product_id": "P7", "price": 20.0}
    assert added["context"]["library"]["name"] == "analytics-python"
    # The device clock was 2 h fast; the stored time is back on the server's clock.
    skew = dt.datetime.fromisoformat(added["receivedAt"]) - dt.datetime.fromisoformat(
        added["timestamp"]
    )
    assert dt.timedelta(seconds=9) < skew < dt.timedelta(seconds=15)
