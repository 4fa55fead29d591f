"""Tracking plans over HTTP, with Segment's Python client as the tracker: violations flagged
in ``context.violations`` or quarantined as the plan says, unplanned events reported, and the
source's data-quality report (violation rates, duplicates, late events, clock skew), on
SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx
import pytest
from segment.analytics import request as segment_request
from segment.analytics.client import Client

from juncture.settings import source_of
from tests.conftest import ADMIN, WRITE_KEY, LiveServer, stored

SOURCE = source_of(WRITE_KEY)
PLAN = """\
name: Web storefront
violations: {mode}
unplanned: flag
rules:
  events:
    - name: Order Completed
      rules:
        $schema: http://json-schema.org/draft-07/schema#
        type: object
        required: [properties]
        properties:
          properties:
            type: object
            required: [order_id, total]
            properties:
              order_id: {{type: string}}
              total: {{type: number, minimum: 0}}
    - name: Product Viewed
      rules: {{type: object}}
  identify:
    type: object
    properties:
      traits: {{type: object, required: [email]}}
"""


class _SlowClock(dt.datetime):
    """The device's clock, ten minutes slow: what the client stamps sentAt with."""

    @classmethod
    def now(cls, tz: Any = None) -> _SlowClock:
        real = dt.datetime.now(tz) - dt.timedelta(minutes=10)
        return cls.fromtimestamp(real.timestamp(), tz)


def _put(
    live: LiveServer, mode: str, *, edit: tuple[str, str] = ("", ""), **params: str
) -> httpx.Response:
    """PUT the plan with ``violations: mode``, ``edit`` (old, new) replaced in its text."""
    body = {"plan": PLAN.format(mode=mode).replace(*edit), "filename": "web.yaml"}
    return httpx.put(
        f"{live.url}/v1/tracking-plans/{SOURCE}", json=body, params=params, headers=ADMIN
    )


def _client(live: LiveServer, errors: list[Exception], *, batched: bool = False) -> Client:
    """``batched``: the client's own queue, posting what was tracked in one batch on flush
    (a batch in which nothing is accepted is answered 400, which a client in sync mode
    raises)."""
    return Client(
        WRITE_KEY,
        host=live.url,
        sync_mode=not batched,
        on_error=lambda e, _b: errors.append(e),
        upload_interval=0.2,
    )


def test_a_plan_that_is_no_json_schema_is_refused_with_its_line(live: LiveServer) -> None:
    r = _put(live, "flag", edit=("{type: number, minimum: 0}", "{type: money}"))
    assert r.status_code == 422, r.text
    assert r.json()["message"].startswith(
        "web.yaml:17: rules.events[0].rules.properties.properties.properties.total.type: "
        "not a valid JSON Schema"
    )
    assert httpx.get(f"{live.url}/v1/tracking-plans/{SOURCE}", headers=ADMIN).status_code == 404
    assert _put(live, "sideways").json()["message"] == (
        "web.yaml:2: violations: violations is one of flag, quarantine"
    )


def test_violations_flagged_then_quarantined_and_the_quality_report(
    live: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _put(live, "flag", dryRun="true").json()["saved"] is False
    assert httpx.get(f"{live.url}/v1/tracking-plans", headers=ADMIN).json()["plans"] == []
    put = _put(live, "flag")
    assert put.status_code == 200, put.text
    assert put.json()["events"] == ["Order Completed", "Product Viewed"]

    errors: list[Exception] = []
    client = _client(live, errors)
    client.track("u1", "Order Completed", {"order_id": "O-1", "total": 30.0}, message_id="ok-1")
    client.track("u1", "Order Completed", {"order_id": "O-2", "total": "30"}, message_id="bad-1")
    client.track("u1", "Coupon Sneezed", {"coupon": "X"}, message_id="unplanned-1")
    client.identify("u1", {"name": "Ann"}, message_id="id-1")
    client.track("u1", "Order Completed", {"order_id": "O-1", "total": 30.0}, message_id="ok-1")
    three_hours_ago = dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)
    client.track(
        "u1", "Product Viewed", {"product_id": "P1"}, timestamp=three_hours_ago, message_id="late"
    )
    client.flush()
    assert errors == []

    by_id = {e["messageId"]: e for e in stored(live, userId="u1")}
    assert "violations" not in by_id["ok-1"]["context"]
    [wrong] = by_id["bad-1"]["context"]["violations"]
    assert (wrong["type"], wrong["field"]) == ("invalid_type", "properties.total")
    assert by_id["unplanned-1"]["context"]["violations"][0]["type"] == "unplanned_event"
    missing = by_id["id-1"]["context"]["violations"][0]
    assert (missing["type"], missing["field"]) == ("missing_required", "traits.email")

    # The same plan, quarantining: a bad order is not stored, and is in the quarantine.
    assert _put(live, "quarantine").status_code == 200
    monkeypatch.setattr(segment_request, "datetime", _SlowClock)  # a device 10 min slow
    batched = _client(live, errors, batched=True)
    batched.track("u2", "Order Completed", {"order_id": "O-3"}, message_id="bad-2")
    batched.track("u2", "Product Viewed", {"product_id": "P2"}, message_id="skewed-ok")
    batched.flush()
    assert errors == []
    assert [e["messageId"] for e in stored(live, userId="u2")] == ["skewed-ok"]
    assert batched.queue.empty()
    failed = httpx.get(f"{live.url}/v1/failed", headers=ADMIN).json()["failed"]
    [held] = [f for f in failed if f["messageId"] == "bad-2"]
    assert (held["code"], held["path"]) == ("plan_violation", "$.batch[0].properties.total")

    report = httpx.get(f"{live.url}/v1/sources/{SOURCE}/quality", headers=ADMIN).json()
    assert report["plan"] == {
        "name": "Web storefront",
        "violations": "quarantine",
        "unplanned": "flag",
    }
    assert (report["received"], report["duplicates"]) == (8, 1)
    assert (report["violating"], report["quarantined"]) == (4, 1)
    assert report["unplannedEvents"] == ["Coupon Sneezed"]
    assert (report["late"], report["skewed"]) == (1, 2)
    assert 590 < report["skewMaxSeconds"] < 610
    orders = next(e for e in report["events"] if e["event"] == "Order Completed")
    assert (orders["received"], orders["violating"], orders["violationRate"]) == (4, 2, 0.5)


def test_a_quarantined_message_goes_in_once_the_plan_allows_it(live: LiveServer) -> None:
    assert _put(live, "quarantine").status_code == 200
    errors: list[Exception] = []
    client = _client(live, errors, batched=True)
    client.track("u3", "Order Completed", {"order_id": "O-9", "total": -5}, message_id="neg")
    client.track("u3", "Product Viewed", {"product_id": "P9"}, message_id="fine")
    client.flush()
    assert errors == []
    assert [e["messageId"] for e in stored(live, userId="u3")] == ["fine"]
    r = _put(live, "quarantine", edit=(", minimum: 0", ""))  # a refund may be negative
    assert r.status_code == 200, r.text
    replay = httpx.post(f"{live.url}/v1/failed/replay", headers=ADMIN)
    assert replay.status_code == 200, replay.text
    assert [e["messageId"] for e in stored(live, userId="u3")] == ["fine", "neg"]
    assert httpx.delete(f"{live.url}/v1/tracking-plans/{SOURCE}", headers=ADMIN).status_code == 204
    assert httpx.get(f"{live.url}/v1/tracking-plans/{SOURCE}", headers=ADMIN).status_code == 404
