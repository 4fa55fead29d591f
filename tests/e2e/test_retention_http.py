"""Retention end to end on SQLite and PostgreSQL: a server whose clock stood 40 days back
took events, a rejected message and a timer's signal; ``juncture retention run`` with 30-day
windows deletes them and keeps today's, and the profile built from them stays."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from segment.analytics.client import Client
from typer.testing import CliRunner

from juncture import wiring
from juncture.cli.main import app
from juncture.runtime.clock import ManualClock
from tests.conftest import ADMIN, BASIC, WRITE_KEY, LiveServer, caught_up, settings_for

THEN = dt.datetime.now(dt.UTC) - dt.timedelta(days=40)
WINDOWS = {
    "JUNCTURE_RETAIN_RAW_EVENTS": "30d",
    "JUNCTURE_RETAIN_DERIVED_EVENTS": "30d",
    "JUNCTURE_RETAIN_QUARANTINE": "30d",
}


@pytest.fixture
def shop(database_url: str) -> Iterator[tuple[LiveServer, ManualClock]]:
    clock = ManualClock(THEN)
    server = LiveServer(wiring.build(settings_for(database_url), clock=clock)).start()
    yield server, clock
    server.stop()


def _events(live: LiveServer, user: str) -> list[dict[str, Any]]:
    r = httpx.get(f"{live.url}/v1/events", params={"userId": user}, headers=ADMIN)
    assert r.status_code == 200, r.text
    return list(r.json()["events"])


def _retention(database_url: str, *args: str) -> dict[str, Any]:
    result = CliRunner().invoke(
        app, ["retention", "run", *args, "--database-url", database_url], env=WINDOWS
    )
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def test_retention_deletes_what_is_past_its_window_and_keeps_the_rest(
    shop: tuple[LiveServer, ManualClock], database_url: str
) -> None:
    live, clock = shop
    errors: list[Exception] = []
    client = Client(
        WRITE_KEY, host=live.url, sync_mode=True, on_error=lambda e, _b: errors.append(e)
    )
    client.identify("r-1", {"email": "r1@example.com"})
    client.track("r-1", "Product Added", {"product_id": "P1", "price": 20.0, "quantity": 1})
    client.flush()
    assert errors == []
    caught_up(live.juncture)
    bad = httpx.post(
        f"{live.url}/v1/batch", json={"batch": [{"type": "track", "userId": "r-1"}]}, headers=BASIC
    )
    assert bad.status_code == 400  # quarantined: a track without an event name
    clock.advance(dt.timedelta(hours=1))
    live.juncture.tick_sync()  # the quiet cart's timer fires: Cart Abandoned
    old = [e.get("event") or e["type"] for e in _events(live, "r-1")]
    assert old[:2] == ["identify", "Product Added"]
    assert "Cart Abandoned" in old[2:]  # with the other signals the engine derived
    derived = len(old) - 2

    clock.set(dt.datetime.now(dt.UTC))
    client.track("r-1", "Product Viewed", {"product_id": "P2"})
    client.flush()
    assert errors == []
    caught_up(live.juncture)

    today = _events(live, "r-1")[len(old) :]
    assert today[0]["event"] == "Product Viewed"

    expected = {"raw_events": 2, "derived_events": derived, "quarantine": 1}
    counted = _retention(database_url, "--dry-run")
    assert counted == {"dryRun": True, "wouldDelete": expected}
    assert len(_events(live, "r-1")) == len(old) + len(today)  # a dry run deletes nothing
    assert _retention(database_url)["deleted"] == expected
    assert _events(live, "r-1") == today
    assert httpx.get(f"{live.url}/v1/failed", headers=ADMIN).json()["failed"] == []
    # What the events built stays: the profile, its email and its abandoned cart.
    found = httpx.get(f"{live.url}/v1/profiles", params={"userId": "r-1"}, headers=ADMIN)
    assert found.status_code == 200, found.text
    assert found.json()["profiles"][0]["traits"]["email"] == "r1@example.com"
    assert _retention(database_url)["deleted"] == {
        "raw_events": 0,
        "derived_events": 0,
        "quarantine": 0,
    }


def test_without_a_window_nothing_is_deleted_and_a_short_delivery_window_is_refused(
    database_url: str,
) -> None:
    result = CliRunner().invoke(app, ["retention", "run", "--database-url", database_url])
    assert result.exit_code == 0
    assert "no JUNCTURE_RETAIN_* window is set" in result.output
    short = CliRunner().invoke(
        app,
        ["retention", "run", "--database-url", database_url],
        env={"JUNCTURE_RETAIN_DELIVERIES": "3d"},
    )
    assert short.exit_code != 0
    assert "JUNCTURE_RETAIN_DELIVERIES: must be 8d or more" in str(short.exception) + short.output
