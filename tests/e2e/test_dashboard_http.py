"""The dashboard's reads on every database (SQLite, and PostgreSQL when its URL is set):
events from Segment's own Python client are counted per minute, orders and revenue read
from the Order Completed events as the spec names them (``revenue``, else ``total``), and the
same figures reach the Overview's data for a signed-in browser."""

from __future__ import annotations

import datetime as dt

import httpx
from segment.analytics.client import Client

from tests.conftest import ADMIN_TOKEN, WRITE_KEY, LiveServer


def send(live: LiveServer) -> None:
    errors: list[Exception] = []
    client = Client(
        WRITE_KEY, host=live.url, sync_mode=True, on_error=lambda e, _b: errors.append(e)
    )
    client.identify("ada", {"email": "ada@example.com"})
    client.track("ada", "Product Viewed", {"product_id": "kettle", "price": 30})
    client.track("ada", "Order Completed", {"order_id": "o1", "revenue": 30.5, "total": 99})
    client.track("bob", "Order Completed", {"order_id": "o2", "total": 12.25})
    client.track("bob", "Order Completed", {"order_id": "o3", "total": "not a number"})
    client.flush()
    assert errors == []


def test_activity_counts_events_orders_and_revenue(live: LiveServer) -> None:
    send(live)
    reads = live.juncture.store.dashboard
    newest = reads.newest_event()
    assert newest is not None
    minute = newest.replace(second=0, microsecond=0)
    since = minute - dt.timedelta(minutes=30)
    buckets = reads.activity(since, minute + dt.timedelta(minutes=1), 60)
    assert len(buckets) == 31
    assert buckets[-1].start == minute
    assert [b.start for b in buckets] == sorted(b.start for b in buckets)
    assert sum(b.events for b in buckets) == 5
    assert sum(b.orders for b in buckets) == 3
    assert round(sum(b.revenue for b in buckets), 2) == 42.75  # 30.5 (revenue) + 12.25 (total)
    busy = [b for b in buckets if b.events]
    assert len(busy) <= 2  # sent within a second: this minute, or two at a minute's turn
    assert reads.activity(newest - dt.timedelta(hours=3), since, 3600)[-1].events == 0


def test_a_customers_events_come_newest_first(live: LiveServer) -> None:
    send(live)
    found = live.juncture.store.profiles.by_identifier("user_id:bob")
    assert found is not None
    events = live.juncture.store.dashboard.events_of(found.ids)
    client = [e for e in events if e.source != "juncture"]
    assert [e.event for e in client] == ["Order Completed", "Order Completed"]
    assert [e.seq for e in events] == sorted((e.seq for e in events), reverse=True)


def test_the_overview_data_for_a_signed_in_browser(live: LiveServer) -> None:
    send(live)
    with httpx.Client(base_url=live.url, follow_redirects=True) as browser:
        r = browser.post("/app/login", data={"token": ADMIN_TOKEN})
        assert r.status_code == 200  # followed to the Overview
        data = browser.get("/app/api/overview", params={"period": "1h"}).json()
    assert data["period"] == "1h"
    assert data["moved"] is False  # the events are from now
    assert data["totals"]["events"] == 5
    assert data["totals"]["orders"] == 3
    assert data["totals"]["revenue"] == 42.75
    assert len(data["activity"]["labels"]) in {60, 61}  # an hour, from within a minute
