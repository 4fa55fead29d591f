"""The deliveries admin API over real HTTP, on every store."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import uuid
from typing import Any

import httpx
import pytest

from juncture.channels.base import DeliveryResult
from juncture.channels.recording import RecordingChannel
from juncture.core.journeys.orchestrate import Message
from juncture.runtime.clock import ManualClock
from juncture.runtime.dispatcher import Dispatcher
from juncture.runtime.retry_policy import RetryPolicy
from juncture.store.outbox import Outbox
from tests.conftest import ADMIN_TOKEN, WRITE_KEY, LiveServer, signed

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def message(key: str, profile: str, journey: str, channel: str = "email") -> Message:
    payload = {"recipient": {"email": "ada@example.com"}, "profile": {}}
    return Message(key, profile, channel, "marketing", T0, payload, "welcome", journey)


def fill(live: LiveServer) -> Outbox:
    """Five messages: p1 sent twice (journey a), p1 dead in b, p2 dead in a, p2 pending."""
    outbox = Outbox(live.juncture.store.engine)
    outbox.insert(
        [
            message("k1", "p1", "a"),
            message("k2", "p1", "a"),
            message("k3", "p1", "b", channel="sms"),
            message("k4", "p2", "a", channel="push"),
        ]
    )
    refused = DeliveryResult.failed("push: HTTP 400: bad token", retryable=False, status_code=400)
    channels = {"email": RecordingChannel(), "push": RecordingChannel(script=[refused])}
    clock = ManualClock(T0)
    asyncio.run(Dispatcher(outbox, channels, clock, RetryPolicy(max_attempts=2)).run_once())
    outbox.insert([message("k5", "p2", "b")])
    return outbox


def get(live: LiveServer, path: str, **params: Any) -> httpx.Response:
    return httpx.get(f"{live.url}{path}", params=params, headers=ADMIN)


def keys(response: httpx.Response) -> list[str]:
    assert response.status_code == 200, response.text
    return [d["idempotencyKey"] for d in response.json()["deliveries"]]


def test_list_filter_and_page(live: LiveServer) -> None:
    fill(live)
    assert keys(get(live, "/v1/deliveries")) == ["k1", "k2", "k3", "k4", "k5"]
    assert keys(get(live, "/v1/deliveries", profileId="p1")) == ["k1", "k2", "k3"]
    assert keys(get(live, "/v1/deliveries", journeyId="a")) == ["k1", "k2", "k4"]
    assert keys(get(live, "/v1/deliveries", status="dead")) == ["k3", "k4"]
    assert keys(get(live, "/v1/deliveries", status="dead", journeyId="a")) == ["k4"]
    assert keys(get(live, "/v1/deliveries", profileId="nobody")) == []
    page = get(live, "/v1/deliveries", limit=2).json()
    assert [d["idempotencyKey"] for d in page["deliveries"]] == ["k1", "k2"]
    rest = get(live, "/v1/deliveries", limit=2, after=page["next"]).json()
    last = get(live, "/v1/deliveries", limit=2, after=rest["next"]).json()
    assert [d["idempotencyKey"] for d in last["deliveries"]] == ["k5"]
    assert last["next"] is None
    sent = get(live, "/v1/deliveries", status="sent").json()["deliveries"][0]
    assert (sent["channel"], sent["status"], sent["attempts"]) == ("email", "sent", 1)
    assert sent["sentAt"] == T0.isoformat()
    assert "payload" not in sent


def test_by_user_id_resolves_the_profile(live: LiveServer) -> None:
    auth = {"Authorization": "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()}
    body = {"userId": "u-9", "event": "Product Viewed", "messageId": str(uuid.uuid4())}
    assert httpx.post(f"{live.url}/v1/track", json=body, headers=auth).status_code == 200
    r = httpx.post(
        f"{live.url}/v1/decide",
        params={"consistent": "true"},  # after the view, as the on-site script asks
        json={"userId": "u-9", "userHash": signed("u-9"), "placement": "home"},
        headers=auth,
    )
    assert r.json()["reason"] == "first_visit"
    rows = get(live, "/v1/deliveries", userId="u-9").json()["deliveries"]
    assert [(d["channel"], d["status"]) for d in rows] == [("onsite", "shown")]
    assert get(live, "/v1/deliveries", userId="nobody").status_code == 404


def test_one_delivery_with_its_attempts(live: LiveServer) -> None:
    outbox = fill(live)
    dead = outbox.deliveries(status="dead", journey_id="a")[0]
    r = get(live, f"/v1/deliveries/{dead.id}")
    assert r.status_code == 200
    body = r.json()
    assert (body["status"], body["lastError"]) == ("dead", "push: HTTP 400: bad token")
    assert body["payload"]["recipient"] == {"email": "ada@example.com"}
    [attempt] = body["attemptLog"]
    assert (attempt["attempt"], attempt["ok"], attempt["statusCode"]) == (1, False, 400)
    assert attempt["error"] == "push: HTTP 400: bad token"
    assert attempt["at"] == T0.isoformat()


def test_retry_dead_letters(live: LiveServer) -> None:
    outbox = fill(live)
    k3 = outbox.deliveries(status="dead", journey_id="b")[0]
    r = httpx.post(f"{live.url}/v1/deliveries/retry", json={"ids": [k3.id]}, headers=ADMIN)
    assert (r.status_code, r.json()) == (200, {"retried": 1})
    assert keys(get(live, "/v1/deliveries", status="dead")) == ["k4"]
    r = httpx.post(f"{live.url}/v1/deliveries/retry", headers=ADMIN)
    assert r.json() == {"retried": 1}
    assert keys(get(live, "/v1/deliveries", status="pending")) == ["k3", "k4", "k5"]
    again = outbox.get(k3.id)
    assert again is not None
    assert (again.attempts, again.next_attempt_at) == (0, None)


@pytest.mark.parametrize(
    ("method", "path", "kwargs", "status", "code"),
    [
        ("GET", "/v1/deliveries", {"headers": {}}, 401, "unauthorized"),
        ("GET", "/v1/deliveries", {"headers": {"Authorization": "Bearer no"}}, 401, None),
        ("GET", "/v1/deliveries?status=lost", {}, 400, "invalid_parameter"),
        ("GET", "/v1/deliveries?limit=0", {}, 400, "invalid_parameter"),
        ("GET", "/v1/deliveries?after=-1", {}, 400, "invalid_parameter"),
        ("GET", "/v1/deliveries/999999", {}, 404, "not_found"),
        ("GET", "/v1/deliveries/abc", {}, 400, "invalid_parameter"),
        ("POST", "/v1/deliveries/retry", {"json": {"ids": ["x"]}}, 400, "invalid_parameter"),
        ("POST", "/v1/deliveries/retry", {"content": b"{oops"}, 400, None),
    ],
)
def test_bad_requests_get_json_errors(
    live: LiveServer, method: str, path: str, kwargs: dict[str, Any], status: int, code: str | None
) -> None:
    kwargs = {"headers": ADMIN, **kwargs}
    if "content" in kwargs:
        kwargs["headers"] = {**kwargs["headers"], "Content-Type": "application/json"}
    r = httpx.request(method, f"{live.url}{path}", **kwargs)
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) >= {"code", "message"}
    if code is not None:
        assert body["code"] == code
