"""The Segment-compatible tracking API over real HTTP, on every store."""

from __future__ import annotations

import datetime as dt
import gzip

import httpx
import orjson
import pytest
import sqlalchemy as sa

from juncture.testing import basic_auth
from juncture.testing import track_message as track
from tests.conftest import ADMIN, BASIC, WRITE_KEY, LiveServer, stored


def test_every_single_endpoint_answers_exactly_success_and_stores(live: LiveServer) -> None:
    bodies = {
        "track": track(),
        "identify": {"userId": "u-1", "traits": {"email": "a@example.com"}},
        "page": {"userId": "u-1", "name": "Home", "properties": {"url": "https://x/"}},
        "screen": {"userId": "u-1", "name": "Cart"},
        "group": {"userId": "u-1", "groupId": "g-1", "traits": {"name": "Acme"}},
        "alias": {"userId": "u-1", "previousId": "anon-9"},
    }
    for kind, body in bodies.items():
        r = httpx.post(f"{live.url}/v1/{kind}", json=body, headers=BASIC)
        assert r.status_code == 200, (kind, r.text)
        assert r.content == b'{"success":true}'
    types = [e["type"] for e in stored(live, userId="u-1")]
    assert types == list(bodies)


def test_batch_with_gzip_and_write_key_in_body(live: LiveServer) -> None:
    body = {"batch": [dict(track(), type="track") for _ in range(3)], "writeKey": WRITE_KEY}
    r = httpx.post(
        f"{live.url}/v1/batch",
        content=gzip.compress(orjson.dumps(body)),
        headers={"Content-Encoding": "gzip", "Content-Type": "text/plain"},
    )
    assert r.status_code == 200, r.text
    assert len(stored(live, userId="u-1")) == 3


def test_import_is_an_alias_of_batch(live: LiveServer) -> None:
    body = {"batch": [dict(track(timestamp="2025-12-24T18:00:00Z"), type="track")]}
    r = httpx.post(f"{live.url}/v1/import", json=body, headers=BASIC)
    assert r.status_code == 200
    [event] = stored(live, userId="u-1")
    assert event["timestamp"] == "2025-12-24T18:00:00.000Z"


def test_retried_messages_are_stored_once(live: LiveServer) -> None:
    body = {"batch": [dict(track(), type="track") for _ in range(5)]}
    for _ in range(3):
        assert httpx.post(f"{live.url}/v1/batch", json=body, headers=BASIC).status_code == 200
    assert len(stored(live, userId="u-1")) == 5


def test_clock_skew_is_corrected_from_sent_at(live: LiveServer) -> None:
    client_now = dt.datetime.now(dt.UTC) + dt.timedelta(hours=3)  # device clock 3 h fast
    message = dict(
        track(), type="track", timestamp=(client_now - dt.timedelta(seconds=30)).isoformat()
    )
    before = dt.datetime.now(dt.UTC)
    r = httpx.post(
        f"{live.url}/v1/batch",
        headers=BASIC,
        json={"batch": [message], "sentAt": client_now.isoformat()},
    )
    after = dt.datetime.now(dt.UTC)
    assert r.status_code == 200
    [event] = stored(live, userId="u-1")
    ts = dt.datetime.fromisoformat(event["timestamp"])
    received = dt.datetime.fromisoformat(event["receivedAt"])
    assert before <= received <= after
    assert abs((received - ts).total_seconds() - 30) < 0.01
    assert event["originalTimestamp"].startswith(str(client_now.year))


@pytest.mark.parametrize(
    "stamp",
    [
        "2026-02-03T04:05:06Z",
        "2026-02-03T04:05:06.789Z",
        "2026-02-03T05:05:06+01:00",
        "2026-02-03 04:05:06",
        "2026-02-03T04:05:06.789123",
        1770091506000,
        "1770091506",
    ],
)
def test_timestamp_formats_real_clients_send(live: LiveServer, stamp: object) -> None:
    r = httpx.post(f"{live.url}/v1/track", json=track(timestamp=stamp), headers=BASIC)
    assert r.status_code == 200, r.text
    [event] = stored(live, userId="u-1")
    assert event["timestamp"].startswith("2026-02-03T04:05:06")


def test_partial_batch_stores_valid_quarantines_invalid_and_says_which(live: LiveServer) -> None:
    good = dict(track(), type="track")
    body = {
        "batch": [
            good,
            {"type": "track", "userId": "u-1"},
            {"type": "identify", "userId": "u-1", "traits": "not an object"},
            {"type": "track", "event": "X"},
        ]
    }
    r = httpx.post(f"{live.url}/v1/batch", json=body, headers=BASIC)
    assert r.status_code == 200
    rejected = r.json()["rejected"]
    assert [(x["index"], x["code"], x["path"]) for x in rejected] == [
        (1, "missing_field", "$.batch[1].event"),
        (2, "invalid_type", "$.batch[2].traits"),
        (3, "missing_field", "$.batch[3].userId"),
    ]
    assert [e["messageId"] for e in stored(live, userId="u-1")] == [good["messageId"]]
    failed = httpx.get(f"{live.url}/v1/failed", headers=ADMIN).json()["failed"]
    assert [f["path"] for f in failed] == [x["path"] for x in rejected]


def test_quarantined_event_is_replayed_after_a_fix(live: LiveServer) -> None:
    bad = {"type": "track", "userId": "u-1", "messageId": "fix-me", "properties": {"a": 1}}
    r = httpx.post(f"{live.url}/v1/batch", json={"batch": [bad]}, headers=BASIC)
    assert r.status_code == 400
    assert r.json()["code"] == "invalid_events"
    [row] = httpx.get(f"{live.url}/v1/failed", headers=ADMIN).json()["failed"]
    unchanged = httpx.post(f"{live.url}/v1/failed/replay", headers=ADMIN).json()
    assert unchanged["replayed"] == [] and unchanged["stillFailing"][0]["id"] == row["id"]
    fixed = httpx.post(
        f"{live.url}/v1/failed/{row['id']}/replay",
        headers=ADMIN,
        json={"payload": dict(bad, event="Product Viewed")},
    )
    assert fixed.json()["replayed"] == [row["id"]]
    [event] = stored(live, userId="u-1")
    assert (event["messageId"], event["event"]) == ("fix-me", "Product Viewed")
    assert httpx.get(f"{live.url}/v1/failed", headers=ADMIN).json()["failed"] == []


@pytest.mark.parametrize(
    ("content", "headers", "status", "code"),
    [
        (b'{"userId": "u", "event": ', {}, 400, "malformed_json"),
        (b"[1, 2]", {}, 400, "invalid_body"),
        (b"not gzip at all", {"Content-Encoding": "gzip"}, 400, "bad_encoding"),
        (b"{}", {"Content-Encoding": "br"}, 400, "unsupported_encoding"),
        (
            b'{"userId": "u", "event": "E", "properties": {"x": "' + b"a" * 40_000 + b'"}}',
            {},
            413,
            "payload_too_large",
        ),
        (b'{"userId": 5, "event": "E", "properties": []}', {}, 400, "invalid_events"),
    ],
)
def test_bad_input_gets_its_own_clear_error(
    live: LiveServer, content: bytes, headers: dict[str, str], status: int, code: str
) -> None:
    r = httpx.post(f"{live.url}/v1/track", content=content, headers={**BASIC, **headers})
    assert r.status_code == status, r.text
    body = r.json()
    assert body["code"] == code
    assert body["message"]


def test_oversized_batch_is_refused_before_reading_it_all(live: LiveServer) -> None:
    body = b'{"batch": [' + b",".join([orjson.dumps(dict(track(), type="track"))] * 4000) + b"]}"
    assert len(body) > 500 * 1024
    r = httpx.post(f"{live.url}/v1/batch", content=body, headers=BASIC)
    assert (r.status_code, r.json()["code"]) == (413, "payload_too_large")


def test_gzip_bomb_is_refused(live: LiveServer) -> None:
    bomb = gzip.compress(b'{"batch": [' + b" " * 5_000_000 + b"]}")
    r = httpx.post(
        f"{live.url}/v1/batch", content=bomb, headers={**BASIC, "Content-Encoding": "gzip"}
    )
    assert (r.status_code, r.json()["code"]) == (413, "payload_too_large")


@pytest.mark.parametrize("headers", [{}, basic_auth("wrong-key"), {"Authorization": "Basic !!!"}])
def test_missing_or_wrong_write_key_is_401(live: LiveServer, headers: dict[str, str]) -> None:
    r = httpx.post(f"{live.url}/v1/track", json=track(), headers=headers)
    assert (r.status_code, r.json()["code"]) == (401, "unauthorized")
    assert stored(live, userId="u-1") == []


def test_bad_input_loses_nothing_already_accepted(live: LiveServer) -> None:
    ok = track()
    assert httpx.post(f"{live.url}/v1/track", json=ok, headers=BASIC).status_code == 200
    httpx.post(f"{live.url}/v1/track", content=b"{broken", headers=BASIC)
    httpx.post(f"{live.url}/v1/track", json=track(), headers=basic_auth("nope"))
    assert [e["messageId"] for e in stored(live, userId="u-1")] == [ok["messageId"]]


def test_store_failure_answers_503_and_a_retry_then_succeeds(live: LiveServer) -> None:
    engine = live.juncture.store.engine
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE events RENAME TO events_away"))
    body = track()
    r = httpx.post(f"{live.url}/v1/track", json=body, headers=BASIC)
    assert (r.status_code, r.json()["code"]) == (503, "store_unavailable")
    assert r.headers["retry-after"] == "1"
    with engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE events_away RENAME TO events"))
    assert httpx.post(f"{live.url}/v1/track", json=body, headers=BASIC).status_code == 200
    assert len(stored(live, userId="u-1")) == 1


def test_admin_api_needs_the_token(live: LiveServer) -> None:
    r = httpx.get(f"{live.url}/v1/events", params={"userId": "u-1"})
    assert (r.status_code, r.json()["code"]) == (401, "unauthorized")
    r = httpx.get(f"{live.url}/v1/events", params={"userId": "u-1", "limit": 0}, headers=ADMIN)
    assert (r.status_code, r.json()["code"]) == (400, "invalid_parameter")
    assert "limit" in r.json()["where"]


def test_health_readiness_and_metrics(live: LiveServer) -> None:
    assert httpx.get(f"{live.url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{live.url}/readyz").status_code == 200
    httpx.post(
        f"{live.url}/v1/batch",
        headers=BASIC,
        json={"batch": [dict(track(), type="track"), {"type": "track", "userId": "x"}]},
    )
    text = httpx.get(f"{live.url}/metrics").text
    assert "juncture_events_accepted_total 1.0" in text
    assert 'juncture_events_rejected_total{code="missing_field"} 1.0' in text
    assert "juncture_ingest_latency_seconds_count" in text


def test_unknown_route_is_json_404(live: LiveServer) -> None:
    r = httpx.post(f"{live.url}/v1/nothing", json={})
    assert (r.status_code, r.json()["code"]) == (404, "not_found")
