"""Dry runs over real HTTP and the CLI on every store: shoppers sign up over the past days
(some with email consent), a live journey of higher priority already greets them, and a
draft greeting run over the last week says who it would have entered, messaged and
suppressed, by reason and by day, while the live store gains nothing."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from juncture import wiring
from juncture.cli.main import app
from juncture.runtime.clock import ManualClock
from tests.conftest import ADMIN, BASIC, LiveServer, settings_for

DRAFT = """\
id: draft_greeting
version: 1
name: Draft greeting
nodes:
  - {id: signed_up, type: trigger, event: Signed Up, next: hello}
  - {id: hello, type: send, channel: email, template: welcome, next: done}
  - {id: done, type: exit}
"""
LIVE = DRAFT.replace("draft_greeting", "live_greeting").replace(
    "name: Draft greeting", "name: Live greeting\npriority: 10"
)
YAML = {**ADMIN, "Content-Type": "application/yaml"}


def message(user: str, at: dt.datetime, **fields: Any) -> dict[str, Any]:
    return {"userId": user, "messageId": str(uuid.uuid4()), "timestamp": at.isoformat(), **fields}


@pytest.fixture
def shop(database_url: str) -> Iterator[LiveServer]:
    """Six shoppers with an email address, four of them consenting to marketing, sign up
    two days and one day ago (three each day); three signed up twenty days ago, before the
    week the draft looks at.
    Each event arrives when it happens (the server's clock is set to its time), as live
    traffic does: an event that arrives long after it happened starts no journey."""
    now = dt.datetime.now(dt.UTC)
    clock = ManualClock(now - dt.timedelta(days=30))
    live = LiveServer(wiring.build(settings_for(database_url), clock=clock)).start()
    run = uuid.uuid4().hex[:6]
    days = [now - dt.timedelta(days=2, hours=1), now - dt.timedelta(days=1, hours=1)]
    sent = [(f"{run}-old{u}", now - dt.timedelta(days=20), "track") for u in range(3)]
    for u in range(6):
        user = f"{run}-u{u}"
        sent.append((user, days[0] - dt.timedelta(days=1), "identify"))
        sent.append((user, days[u % 2], "track"))
    for user, at, kind in sorted(sent, key=lambda s: s[1]):
        clock.set(at)
        traits: dict[str, Any] = {"email": f"{user}@example.com"}
        if user[-1] in "0123":
            traits["consent"] = {"email": {"marketing": True}}
        fields = {"traits": traits} if kind == "identify" else {"event": "Signed Up"}
        r = httpx.post(f"{live.url}/v1/{kind}", json=message(user, at, **fields), headers=BASIC)
        assert r.status_code == 200, r.text
    clock.set(now)
    yield live
    live.stop()


def dry_run(live: LiveServer, text: str, **params: Any) -> httpx.Response:
    url = f"{live.url}/v1/measure/dry-run"
    return httpx.post(url, content=text, params={"days": 7, **params}, headers=YAML)


def test_a_draft_alone_would_greet_the_consenting_shoppers(shop: LiveServer) -> None:
    found = dry_run(shop, DRAFT)
    assert found.status_code == 200, found.text
    run = found.json()
    assert (run["journey_id"], run["entered"], run["messaged"]) == ("draft_greeting", 6, 4)
    assert run["suppressed_by_reason"] == {"no_consent:email:marketing": 2}
    assert [(d["entered"], d["messaged"]) for d in run["per_day"]] == [(3, 2), (3, 2)]
    (node,) = run["per_node"]
    assert (node["node_id"], node["channel"], node["messaged"]) == ("hello", "email", 4)
    # every enrollment went through to the exit
    assert {(p["node"], p["status"]) for p in run["positions"]} == {("done", "exited")}
    assert sum(p["enrollments"] for p in run["positions"]) == 6
    # nothing of the draft reached the live store
    journeys = httpx.get(f"{shop.url}/v1/journeys", headers=ADMIN).json()
    assert "draft_greeting" not in json.dumps(journeys)
    live_rows = httpx.get(
        f"{shop.url}/v1/measure/kpis/messages", params={"journey": "draft_greeting"},
        headers=ADMIN,
    ).json()["rows"]  # fmt: skip
    assert live_rows == []


def test_a_live_journey_of_higher_priority_wins(shop: LiveServer) -> None:
    assert httpx.post(f"{shop.url}/v1/journeys", content=LIVE, headers=YAML).status_code == 201
    run = dry_run(shop, DRAFT).json()
    assert (run["entered"], run["messaged"]) == (6, 0)
    assert run["suppressed_by_reason"] == {
        "lower_priority": 4,
        "no_consent:email:marketing": 2,
    }


def test_an_invalid_draft_is_refused_by_line(shop: LiveServer) -> None:
    broken = dry_run(shop, DRAFT.replace("channel: email", "channel: pigeon"))
    assert broken.status_code == 422, broken.text
    assert broken.json()["problems"][0]["where"].startswith("body.yaml:")
    assert httpx.post(f"{shop.url}/v1/measure/dry-run", content=DRAFT).status_code == 401


def test_the_cli_runs_the_same_draft(shop: LiveServer, tmp_path: Path) -> None:
    draft = tmp_path / "draft.yaml"
    draft.write_text(DRAFT, encoding="utf-8")
    url = shop.juncture.settings.database_url
    found = CliRunner().invoke(
        app, ["journeys", "dry-run", str(draft), "--since", "7d", "--database-url", url]
    )
    assert found.exit_code == 0, found.output
    run = json.loads(found.stdout)
    assert (run["entered"], run["messaged"], run["suppressed"]) == (6, 4, 2)
    draft.write_text(DRAFT.replace("type: exit", "type: nowhere"), encoding="utf-8")
    bad = CliRunner().invoke(app, ["measure", "dry-run", str(draft), "--database-url", url])
    assert bad.exit_code == 1 and f"{draft}:" in bad.output
    never = CliRunner().invoke(app, ["measure", "dry-run", str(draft), "--since", "soon"])
    assert never.exit_code == 2 and "--since" in never.output
