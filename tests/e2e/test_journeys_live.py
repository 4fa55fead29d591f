"""Journeys administered over HTTP while the engine runs them: versions, pause, archive and
stats end to end, through the real ingestion path, on SQLite and PostgreSQL, in event time."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import msgspec
import orjson
import pytest
import sqlalchemy as sa

from juncture import wiring
from juncture.core import messages
from juncture.runtime.clock import ManualClock
from juncture.store import tables
from tests.conftest import ADMIN_TOKEN, LiveServer, caught_up, settings_for

T0 = dt.datetime(2026, 5, 4, 10, 0, tzinfo=dt.UTC)  # a Monday, 10:00 UTC
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
YAML = {**ADMIN, "Content-Type": "application/yaml"}
CART = """\
id: cart_live
version: 1
name: Cart, live
entry: {reentry: always, key: event.properties.cart_id}
goal: {event: Order Completed, key: event.properties.cart_id, within: 7d}
nodes:
  - {id: added, type: trigger, event: Product Added, next: wait}
  - id: wait
    type: wait
    until_event: Order Completed
    key: event.properties.cart_id
    timeout: 1h
    on_event: done
    on_timeout: remind
  - {id: remind, type: send, channel: email, template: cart_recovery, next: done}
  - {id: done, type: exit}
"""


class Shop:
    def __init__(self, live: LiveServer, clock: ManualClock) -> None:
        self.live, self.clock, self.j = live, clock, live.juncture

    def admin(self, method: str, path: str, text: str | None = None) -> dict[str, Any]:
        headers = YAML if text is not None else ADMIN
        r = httpx.request(
            method, f"{self.live.url}/v1/journeys{path}", content=text, headers=headers
        )
        assert r.status_code < 300, r.text
        return dict(r.json())

    def send(self, at: dt.datetime, **message: Any) -> None:
        self.clock.set(max(self.clock.now(), at))
        body = {"messageId": str(uuid.uuid4()), "timestamp": at.isoformat(), **message}
        envelope = messages.Envelope(messages=[msgspec.Raw(orjson.dumps(body))], single=False)
        assert self.j.ingestor.ingest_sync(envelope, "test").rejected == []
        caught_up(self.j)  # applied at its own time, before the clock moves on

    def add(self, at: dt.datetime, cart: str) -> None:
        props = {"cart_id": cart, "product_id": "P1", "name": "Shoe", "price": 50.0}
        self.send(at, type="track", userId="u1", event="Product Added", properties=props)

    def advance(self, to: dt.datetime) -> None:
        self.clock.set(to)
        self.j.tick_sync()

    def rows(self, table: sa.Table) -> list[dict[str, Any]]:
        with self.j.store.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(sa.select(table))]


@pytest.fixture
def shop(database_url: str) -> Iterator[Shop]:
    clock = ManualClock(T0)
    server = LiveServer(wiring.build(settings_for(database_url), clock=clock)).start()
    yield Shop(server, clock)
    server.stop()


def minutes(n: int) -> dt.datetime:
    return T0 + dt.timedelta(minutes=n)


def test_versions_pause_archive_and_stats_with_the_engine(shop: Shop) -> None:
    consent = {"email": {"marketing": True}}
    shop.send(
        T0, type="identify", userId="u1", traits={"email": "u1@example.com", "consent": consent}
    )
    assert shop.admin("POST", "", CART)["version"] == 1
    shop.add(minutes(1), "c1")  # enters version 1 (1h wait)
    assert shop.admin("POST", "", CART.replace("timeout: 1h", "timeout: 2h"))["version"] == 2
    shop.add(minutes(2), "c2")  # enters version 2 (2h wait)
    shop.advance(minutes(70))
    assert [(r["journey_version"], r["node_id"]) for r in shop.rows(tables.outbox)] == [
        (1, "remind")
    ]
    shop.advance(minutes(125))
    assert sorted(r["journey_version"] for r in shop.rows(tables.outbox)) == [1, 2]

    shop.admin("POST", "/cart_live/pause")
    shop.add(minutes(130), "c3")  # paused: no entry
    shop.admin("POST", "/cart_live/resume")
    shop.add(minutes(131), "c4")  # enters version 2 again
    assert sorted(r["version"] for r in shop.rows(tables.enrollments)) == [1, 2, 2]

    stats = shop.admin("GET", "/cart_live/stats")
    assert (stats["entered"], stats["active"], stats["messages"]) == (3, 1, {"pending": 2})
    nodes = {n["node"]: n for n in stats["nodes"]}
    assert nodes["wait"]["waiting"] == 1 and nodes["remind"]["entered"] == 2
    assert nodes["done"]["exited"] == {"completed": 2}
    assert shop.admin("GET", "/cart_live/stats?version=1")["entered"] == 1

    shop.admin("POST", "/cart_live/archive")  # c4's enrollment stops where it is
    shop.advance(minutes(400))
    assert len(shop.rows(tables.outbox)) == 2  # nothing more sent
    stopped = [r for r in shop.rows(tables.enrollments) if r["exit_reason"] == "archived"]
    assert [r["node"] for r in stopped] == ["wait"]
    shop.add(minutes(401), "c5")  # archived: no entry
    assert len(shop.rows(tables.enrollments)) == 3
    metrics = httpx.get(f"{shop.live.url}/metrics").text
    assert (
        'juncture_journey_node_exited_total{journey="cart_live",node="wait",reason="archived"} 1.0'
        in metrics
    )
