"""One bad event never stops or slows anyone else's: every value is bounded at the edge, and
what the engine cannot process is isolated to that one event.

Each test runs the real server on loopback, with the shipped journeys and segments applied
(as ``juncture journeys apply --library`` and ``juncture segments apply --library`` do), on
SQLite and PostgreSQL. Every poison request is sent beside valid ones, which must be stored
and processed."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from juncture import wiring
from juncture.cli.main import app
from juncture.core import bounds
from juncture.core.events import as_utc
from juncture.runtime.replay import replay
from juncture.store import tables
from juncture.store.sql import SqlStore
from tests.conftest import ADMIN_TOKEN, WRITE_KEY, LiveServer, caught_up, settings_for

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
NOW = dt.datetime.now(dt.UTC).isoformat()


@pytest.fixture
def library_url(database_url: str) -> str:
    for group in ("journeys", "segments"):
        result = CliRunner().invoke(
            app, [group, "apply", "--library", "--database-url", database_url]
        )
        assert result.exit_code == 0, result.output
    return database_url


@pytest.fixture
def server(library_url: str) -> Iterator[LiveServer]:
    live = LiveServer(wiring.build(settings_for(library_url))).start()
    yield live
    live.stop()


def send(server: LiveServer, path: str, body: Any, **headers: str) -> httpx.Response:
    content = body if isinstance(body, bytes) else _json(body).encode()
    return httpx.post(
        server.url + path,
        content=content,
        auth=(WRITE_KEY, ""),
        headers={"Content-Type": "application/json", **headers},
        timeout=30,
    )


def _json(value: Any) -> str:
    """JSON of any depth (``json.dumps`` recurses, and stops near 1,000 levels)."""
    depth = 0
    while isinstance(value, dict) and list(value) == ["a"]:
        value, depth = value["a"], depth + 1
    if depth:
        return '{"a":' * depth + _json(value) + "}" * depth
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(k)}:{_json(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_json(v) for v in value) + "]"
    return json.dumps(value)


def valid(user: str, n: int = 0) -> dict[str, Any]:
    return {
        "type": "track",
        "userId": user,
        "event": "Product Viewed",
        "messageId": f"{user}-ok-{n}",
        "timestamp": NOW,
        "properties": {"product_id": "sku-1", "price": 19.5, "category": "Shoes"},
    }


def events_of(server: LiveServer, user: str) -> list[dict[str, Any]]:
    answer = httpx.get(f"{server.url}/v1/events", params={"userId": user}, headers=ADMIN)
    assert answer.status_code == 200, answer.text
    found: list[dict[str, Any]] = answer.json()["events"]
    return found


def processed(server: LiveServer, user: str) -> bool:
    """Stored, and through the engine: the event carries the profile it resolved to."""
    caught_up(server.juncture)
    found = events_of(server, user)
    return bool(found) and all(e.get("profileId") for e in found)


def assert_healthy(server: LiveServer) -> None:
    neighbour = f"neighbour-{uuid.uuid4().hex}"
    assert send(server, "/v1/track", valid(neighbour)).status_code == 200
    assert processed(server, neighbour)
    assert httpx.get(server.url + "/readyz").status_code == 200


def test_a_year_one_date_trait_sets_no_timer_and_stops_nothing(
    server: LiveServer, library_url: str
) -> None:
    body = {"userId": "u1", "traits": {"replenish_at": "0001-01-01", "birthday": "0001-01-01"}}
    assert send(server, "/v1/identify", body).status_code == 200
    assert_healthy(server)
    engine = sa.create_engine(library_url)
    with engine.connect() as conn:
        due = conn.execute(sa.select(sa.func.min(tables.timers.c.due_at))).scalar_one()
    engine.dispose()
    assert due is None or as_utc(due) >= bounds.EARLIEST


def test_the_store_keeps_taking_events_after_a_restart(library_url: str) -> None:
    first = LiveServer(wiring.build(settings_for(library_url))).start()
    try:
        body = {"userId": "u1", "traits": {"replenish_at": "0001-01-01"}}
        assert send(first, "/v1/identify", body).status_code == 200
    finally:
        first.stop()
    again = LiveServer(wiring.build(settings_for(library_url))).start()
    try:
        assert_healthy(again)
    finally:
        again.stop()


def test_a_segment_window_past_a_hundred_years_is_refused(server: LiveServer) -> None:
    source = "id: forever\nname: Forever\nwhere:\n  performed: Order Completed\n  within: 800000d\n"
    answer = httpx.post(
        server.url + "/v1/segments",
        json={"source": source, "filename": "forever.yaml"},
        headers=ADMIN,
    )
    assert 400 <= answer.status_code < 500, answer.text
    assert "800000d" in answer.text
    assert_healthy(server)


def deep(levels: int) -> dict[str, Any]:
    node: dict[str, Any] = {"leaf": 1}
    for _ in range(levels):
        node = {"a": node}
    return node


def products(price: float, quantity: float) -> dict[str, Any]:
    return {
        "cart_id": "c1",
        "products": [{"product_id": "p", "price": price, "quantity": quantity}],
    }


# (name, fields merged into a valid track, where the refusal points)
REFUSED: list[tuple[str, dict[str, Any], str]] = [
    ("year one timestamp", {"timestamp": "0001-01-01T00:00:00Z"}, "$.timestamp"),
    ("year 9999 with sentAt in year one", {"timestamp": "9999-01-01T00:00:00Z",
     "sentAt": "0001-01-01T00:00:00Z"}, "$.timestamp"),
    ("price times quantity overflows", {"event": "Product Added",
     "properties": products(1e154, 1e154)}, "$.properties.products[0].price"),
    ("a user id over 200 characters", {"userId": "u" * 201}, "$.userId"),
    ("a NUL in an id", {"anonymousId": "a\x00b"}, "$.anonymousId"),
    ("a NUL in a property", {"properties": {"name": "x\x00y"}}, "$.properties.name"),
    ("nesting 251 levels", {"properties": deep(251)}, "$.properties"),
    ("an integer over 64 bits", {"properties": {"n": 2**64}}, "$.properties.n"),
    ("a cart id over 200 characters", {"event": "Product Added",
     "properties": {"cart_id": "c" * 201}}, "$.properties.cart_id"),
    ("a device id over 200 characters", {"context": {"device": {"id": "d" * 500}}},
     "$.context.device.id"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "fields", "where"), REFUSED, ids=[r[0] for r in REFUSED])
def test_a_poison_event_is_refused_alone(
    server: LiveServer, name: str, fields: dict[str, Any], where: str
) -> None:
    poison = {**valid("poison"), **fields, "messageId": "poison-1"}
    single = send(server, "/v1/track", poison)
    assert single.status_code == 400, single.text
    assert single.json()["where"].startswith(where), single.text
    batch = {"batch": [valid("before"), poison, valid("after")], "sentAt": NOW}
    answer = send(server, "/v1/batch", batch)
    assert answer.status_code == 200, answer.text
    assert [r["index"] for r in answer.json()["rejected"]] == [1]
    assert processed(server, "before")
    assert processed(server, "after")
    failed = httpx.get(server.url + "/v1/failed", headers=ADMIN).json()["failed"]
    assert len(failed) == 2  # the single request's and the batch's
    assert_healthy(server)


def test_a_body_nested_past_what_the_parser_reads_is_refused_whole(server: LiveServer) -> None:
    """About 1,000 levels: the JSON reader stops before it reaches the messages, so the body
    is refused with 400 (not retried by clients) and nothing in it is stored."""
    poison = {**valid("deep"), "properties": deep(1000)}
    for path, body in (("/v1/track", poison), ("/v1/batch", {"batch": [valid("near"), poison]})):
        answer = send(server, path, body)
        assert answer.status_code == 400, answer.text
        assert answer.json()["where"] == "$"
    assert events_of(server, "near") == []
    assert_healthy(server)


# Values that are odd but harmless: stored, processed, and readable back.
ACCEPTED: list[tuple[str, dict[str, Any]]] = [
    ("a country of 65 characters", {"type": "identify", "traits": {"country": "C" * 65}}),
    ("a city of 500 characters", {"type": "identify", "traits": {"address": {"city": "c" * 500}}}),
    ("a channel of 33 characters", {"context": {"channel": "x" * 33}}),
    ("an email of 400 characters", {"type": "identify", "traits": {"email": "e" * 390 + "@x.io"}}),
    ("a quantity past 32 bits", {"event": "Product Added",
     "properties": {"cart_id": "c2", "product_id": "p", "price": 1, "quantity": 2**40}}),
    ("nesting 31 levels", {"properties": deep(30)}),
]  # fmt: skip


@pytest.mark.parametrize(("name", "fields"), ACCEPTED, ids=[a[0] for a in ACCEPTED])
def test_an_odd_but_harmless_value_is_stored_and_read_back(
    server: LiveServer, name: str, fields: dict[str, Any]
) -> None:
    odd = {**valid("odd"), **fields}
    assert send(server, "/v1/batch", {"batch": [odd, valid("beside")]}).status_code == 200
    assert processed(server, "odd")
    assert processed(server, "beside")
    profile = events_of(server, "odd")[0]["profileId"]
    for path in ("", "/events", "/export"):
        answer = httpx.get(f"{server.url}/v1/profiles/{profile}{path}", headers=ADMIN)
        assert answer.status_code == 200, (path, answer.text)
    assert_healthy(server)


def test_quarantine_keeps_the_exact_bytes_it_was_sent(server: LiveServer) -> None:
    body = b'{"userId":"u","event":"Caf\xe9 Visited","timestamp":"' + NOW.encode() + b'"}'
    assert send(server, "/v1/track", body).status_code == 400
    nul = b'{"userId":"u","event":"N\\u0000"}'  # valid JSON, a NUL no column can hold
    assert send(server, "/v1/track", nul).status_code == 400
    store = SqlStore(server.juncture.settings.database_url)
    try:
        kept = [row.body() for row in store.failed()]
    finally:
        store.close()
    assert kept == [body, nul]
    assert_healthy(server)


def test_replay_survives_an_event_stored_before_times_were_bounded(library_url: str) -> None:
    live = LiveServer(wiring.build(settings_for(library_url))).start()
    try:
        assert (
            send(live, "/v1/batch", {"batch": [valid("early"), valid("late")]}).status_code == 200
        )
    finally:
        live.stop()
    store = SqlStore(library_url)
    try:
        with store.engine.begin() as conn:
            conn.execute(
                tables.events.update()
                .where(tables.events.c.user_id == "early")
                .values(timestamp=dt.datetime(9999, 12, 31, 23, 59, 59, tzinfo=dt.UTC))
            )
        summary = replay(store)
    finally:
        store.close()
    assert summary.events == 1  # the other one
    assert len(summary.out_of_range) == 1


def _read_only(url: str, on: bool) -> None:
    """Make the database refuse writes (or take them again), for connections from now on,
    and end the ones open now."""
    name = sa.make_url(url).database
    admin = sa.make_url(url).set(database="postgres")
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'ALTER DATABASE "{name}" SET default_transaction_read_only = {on}'))
        conn.execute(
            sa.text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = :name AND pid <> pg_backend_pid()"
            ),
            {"name": name},
        )
    engine.dispose()


@pytest.mark.postgres
def test_readyz_reports_a_store_that_cannot_commit(postgres_url: str) -> None:
    live = LiveServer(wiring.build(settings_for(postgres_url))).start()
    try:
        assert send(live, "/v1/track", valid("first")).status_code == 200
        _read_only(postgres_url, True)
        for _ in range(2):  # the first sees its connection ended, the next a read-only one
            assert send(live, "/v1/track", valid("refused")).status_code == 503
        ready = httpx.get(live.url + "/readyz")
        assert ready.status_code == 503, ready.text
        assert "commits fail" in ready.json()["message"]
        _read_only(postgres_url, False)
        assert httpx.get(live.url + "/readyz").status_code == 200
        assert send(live, "/v1/track", valid("refused")).status_code == 200
        assert processed(live, "refused")
    finally:
        live.stop()
