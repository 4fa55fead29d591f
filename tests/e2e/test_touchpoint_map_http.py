"""The touchpoint map over real HTTP and the CLI, from events sent with Segment's Python
client on three channels: a shopper reads a page on the web, views and adds a product in the
app and orders in a store; the map lists those touches in order, each in the stage the
shopper stood in, and counts them per stage over everyone."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import uuid

import httpx
import pytest
from segment.analytics.client import Client
from typer.testing import CliRunner

from juncture.cli.main import app
from tests.conftest import ADMIN, WRITE_KEY, LiveServer

PRODUCT = {"product_id": "kettle", "category": "Kitchen", "price": 30.0}


@pytest.fixture
def shopper(live: LiveServer) -> tuple[LiveServer, str]:
    errors: list[Exception] = []
    client = Client(WRITE_KEY, host=live.url, sync_mode=True,
                    on_error=lambda e, _batch: errors.append(e))  # fmt: skip
    user, start = f"{uuid.uuid4().hex[:6]}-u", dt.datetime.now(dt.UTC) - dt.timedelta(hours=5)
    web, app_, store = ({"channel": c} for c in ("web", "app", "store"))
    client.page(user, name="Home", timestamp=start, context=web)
    client.page(user, name="Kitchen", timestamp=start + dt.timedelta(minutes=1), context=web)
    client.track(user, "Product Viewed", PRODUCT, timestamp=start + dt.timedelta(hours=1),
                 context=app_)  # fmt: skip
    client.track(user, "Product Added", PRODUCT, timestamp=start + dt.timedelta(hours=2),
                 context=app_)  # fmt: skip
    order = {"order_id": user, "revenue": 30.0, "products": [PRODUCT]}
    client.track(user, "Order Completed", order, timestamp=start + dt.timedelta(hours=3),
                 context=store)  # fmt: skip
    client.identify(user, {"email": f"{user}@example.com"}, timestamp=start)
    client.flush()
    assert errors == []
    params = {"userId": user, "consistent": "true"}
    found = httpx.get(f"{live.url}/v1/profiles", params=params, headers=ADMIN)
    assert found.status_code == 200, found.text
    return live, found.json()["profiles"][0]["profileId"]


def test_one_persons_touches_in_order_with_their_stage(shopper: tuple[LiveServer, str]) -> None:
    live, profile = shopper
    url = f"{live.url}/v1/measure/touchpoints"
    assert httpx.get(url, params={"profileId": profile}).status_code == 401
    found = httpx.get(url, params={"profileId": profile}, headers=ADMIN)
    assert found.status_code == 200, found.text
    rows = found.json()["touchpoints"]
    assert [(r["channel"], r["touchpoint"], r["count"]) for r in rows] == [
        ("web", "page", 2),  # two page calls in a row: one row
        ("app", "Product Viewed", 1),
        ("app", "Product Added", 1),
        ("store", "Order Completed", 1),
    ]
    # Each touch in the stage it left the shopper in: the view moved them to consideration.
    assert [r["stage"] for r in rows] == ["awareness", "consideration", "decision", "decision"]
    assert [r["at"] for r in rows] == sorted(r["at"] for r in rows)
    later = httpx.get(url, params={"profileId": profile, "since": rows[2]["at"]}, headers=ADMIN)
    assert [r["touchpoint"] for r in later.json()["touchpoints"]] == [
        "Product Added", "Order Completed",
    ]  # fmt: skip


def test_per_stage_over_everyone_as_json_csv_and_cli(shopper: tuple[LiveServer, str]) -> None:
    live, _ = shopper
    url = f"{live.url}/v1/measure/touchpoints"
    stages = httpx.get(url, headers=ADMIN).json()["stages"]
    mine = {(r["stage"], r["channel"], r["touchpoint"]): r for r in stages}
    assert (
        mine[("awareness", "web", "page")] | {"profiles": 1, "touches": 2, "first": 1}
        == (mine[("awareness", "web", "page")])
    )
    assert mine[("decision", "store", "Order Completed")]["first"] == 0  # after the add
    as_csv = httpx.get(url, params={"format": "csv"}, headers=ADMIN)
    assert [r["touchpoint"] for r in csv.DictReader(io.StringIO(as_csv.text))] == [
        r["touchpoint"] for r in stages
    ]
    cli = CliRunner().invoke(app, [
        "measure", "touchpoints", "--format", "json",
        "--database-url", live.juncture.settings.database_url,
    ])  # fmt: skip
    assert cli.exit_code == 0, cli.output
    assert json.loads(cli.stdout) == stages
    naive = httpx.get(url, params={"since": "2026-01-01T00:00:00"}, headers=ADMIN)
    assert naive.status_code == 400 and naive.json()["where"] == "query.since"
