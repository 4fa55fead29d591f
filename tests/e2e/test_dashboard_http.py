"""The dashboard's reads on every database (SQLite, and PostgreSQL when its URL is set):
events from Segment's own Python client are counted per minute, orders and revenue read
from the Order Completed events as the spec names them (``revenue``, else ``total``), and the
same figures reach the Overview's data for a signed-in browser; the activity summary counts
each event once, whether read from the summary or from the log's tail past its mark."""

from __future__ import annotations

import datetime as dt

import httpx
from segment.analytics.client import Client

from juncture.store.activity import Bucket
from tests.conftest import ADMIN_TOKEN, WRITE_KEY, LiveServer, caught_up


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
    caught_up(live.juncture)  # with what the engine derived from them


def buckets_around(live: LiveServer) -> tuple[list[Bucket], dt.datetime]:
    """The half hour up to the newest event's minute, in minutes."""
    newest = live.juncture.store.dashboard.newest_event()
    assert newest is not None
    minute = newest.replace(second=0, microsecond=0)
    since = minute - dt.timedelta(minutes=30)
    return live.juncture.store.activity.buckets(since, minute + dt.timedelta(minutes=1), 60), minute


def test_activity_counts_events_orders_and_revenue(live: LiveServer) -> None:
    send(live)
    buckets, minute = buckets_around(live)  # nothing summarised yet: all from the log's tail
    assert len(buckets) == 31
    assert buckets[-1].start == minute
    assert [b.start for b in buckets] == sorted(b.start for b in buckets)
    assert sum(b.events for b in buckets) == 5
    assert sum(b.orders for b in buckets) == 3
    assert round(sum(b.revenue for b in buckets), 2) == 42.75  # 30.5 (revenue) + 12.25 (total)
    busy = [b for b in buckets if b.events]
    assert len(busy) <= 2  # sent within a second: this minute, or two at a minute's turn
    hours = live.juncture.store.activity.buckets(minute - dt.timedelta(hours=3), minute, 3600)
    assert hours[-1].events == 0


def test_a_period_ending_in_a_minutes_first_second_has_that_minute(live: LiveServer) -> None:
    send(live)
    _, minute = buckets_around(live)  # the newest event's minute: every event is in it or before
    for until in (minute + dt.timedelta(milliseconds=500), minute + dt.timedelta(minutes=1)):
        buckets = live.juncture.store.activity.buckets(until - dt.timedelta(minutes=5), until, 60)
        assert buckets[-1].start == minute
        assert sum(b.events for b in buckets) == 5
    before = live.juncture.store.activity.buckets(minute - dt.timedelta(minutes=5), minute, 60)
    assert before[-1].start == minute - dt.timedelta(minutes=1)  # [since, until): not ``until``


def test_the_summary_counts_each_event_once(live: LiveServer) -> None:
    send(live)
    activity = live.juncture.store.activity
    before, _ = buckets_around(live)
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)  # past PostgreSQL's settling
    done = activity.refresh(later)
    assert done.behind == 0
    assert done.counted >= 5  # the client's events and what the engine derived from them
    assert activity.behind() == 0
    assert activity.refresh(later).counted == 0  # a second refresh finds nothing new
    after, _ = buckets_around(live)
    assert after == before  # from the summary now, not the tail: the same figures
    send(live)  # five more: the summary's five and the tail's five
    again, _ = buckets_around(live)
    assert (sum(b.events for b in again), sum(b.orders for b in again)) == (10, 6)
    assert activity.refresh(later).counted >= 5
    assert buckets_around(live)[0] == again


def test_a_refresh_that_lost_the_race_counts_nothing(live: LiveServer) -> None:
    send(live)
    activity = live.juncture.store.activity
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=5)
    mark, upper, _ = activity._range(later, 1000)
    rows = activity._read(mark, upper)
    assert activity.refresh(later).counted >= 5  # another refresh counts the range first
    assert activity._move(mark, upper, rows, later) is False  # the mark had moved
    buckets, _ = buckets_around(live)
    assert sum(b.events for b in buckets) == 5


def test_postgres_leaves_the_newest_events_to_the_tail(live: LiveServer) -> None:
    send(live)
    activity = live.juncture.store.activity
    done = activity.refresh(dt.datetime.now(dt.UTC))
    if live.juncture.store.dialect == "sqlite":  # one writer: every visible seq is final
        assert done.behind == 0
    else:  # a lower seq could still commit: events younger than the settling time wait
        assert done.counted == 0
        assert done.behind >= 5
    buckets, _ = buckets_around(live)
    assert sum(b.events for b in buckets) == 5


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
