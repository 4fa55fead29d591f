"""Funnels and paths over real HTTP and the CLI on every store, from events sent with
Segment's Python client: ten shoppers view a kitchen product, six add it to the cart, three
order; the funnel and the paths count them as sent."""

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
from tests.conftest import ADMIN, WRITE_KEY, LiveServer, caught_up

SHOPPERS, ADDED, ORDERED = 10, 6, 3
FUNNEL = {
    "steps": [
        {"event": "Product Viewed", "where": {"category": "Kitchen"}},
        {"event": "Product Added"},
        {"event": "Order Completed"},
    ]
}


@pytest.fixture
def shop(live: LiveServer) -> LiveServer:
    errors: list[Exception] = []
    client = Client(WRITE_KEY, host=live.url, sync_mode=True,
                    on_error=lambda e, _batch: errors.append(e))  # fmt: skip
    run, start = uuid.uuid4().hex[:6], dt.datetime.now(dt.UTC) - dt.timedelta(hours=5)
    product = {"product_id": "kettle", "category": "Kitchen", "price": 30.0}
    for u in range(SHOPPERS):
        user = f"{run}-u{u}"
        client.track(user, "Product Viewed", product, timestamp=start)
        if u < ADDED:
            client.track(user, "Product Added", product, timestamp=start + dt.timedelta(hours=1))
        if u < ORDERED:
            order = {"order_id": f"{run}-{u}", "revenue": 30.0, "products": [product]}
            client.track(user, "Order Completed", order, timestamp=start + dt.timedelta(hours=3))
    client.flush()
    caught_up(live.juncture)
    assert errors == []
    return live


def test_a_funnel_counts_the_steps_as_sent(shop: LiveServer) -> None:
    url = f"{shop.url}/v1/measure/funnel"
    assert httpx.post(url, json=FUNNEL).status_code == 401
    found = httpx.post(url, json=FUNNEL, headers=ADMIN)
    assert found.status_code == 200, found.text
    steps = found.json()["steps"]
    assert [s["profiles"] for s in steps] == [SHOPPERS, ADDED, ORDERED]
    assert [s["dropped"] for s in steps] == [None, SHOPPERS - ADDED, ADDED - ORDERED]
    assert steps[1]["median_days_from_previous"] == pytest.approx(1 / 24, abs=1e-4)
    assert steps[2]["median_days_from_previous"] == pytest.approx(2 / 24, abs=1e-4)
    garden = {"steps": [{"event": "Product Viewed", "where": {"category": "Garden"}}]}
    assert httpx.post(url, json=garden, headers=ADMIN).json()["steps"][0]["profiles"] == 0
    as_csv = httpx.post(url, json=FUNNEL, params={"format": "csv"}, headers=ADMIN)
    assert [r["profiles"] for r in csv.DictReader(io.StringIO(as_csv.text))] == ["10", "6", "3"]
    empty = httpx.post(url, json={"steps": []}, headers=ADMIN)
    assert empty.status_code == 400 and empty.json()["where"].startswith("body.steps")
    naive = httpx.post(url, json={**FUNNEL, "since": "2026-01-01T00:00:00"}, headers=ADMIN)
    assert naive.status_code == 400 and naive.json()["where"] == "body.since"


def test_paths_from_a_view_to_an_order_as_sankey_data(shop: LiveServer) -> None:
    params = {"from": "Product Viewed", "to": "Order Completed"}
    found = httpx.get(f"{shop.url}/v1/measure/paths", params=params, headers=ADMIN)
    assert found.status_code == 200, found.text
    paths = found.json()
    assert (paths["profiles"], paths["reached"]) == (SHOPPERS, ORDERED)
    assert [(p["steps"], p["profiles"]) for p in paths["paths"]] == [  # most first
        ([], SHOPPERS - ADDED),
        (["Product Added"], ADDED - ORDERED),
        (["Product Added", "Order Completed"], ORDERED),
    ]
    links = {(x["source"], x["target"]): x["profiles"] for x in paths["links"]}
    assert links[("0:Product Viewed", "1:Product Added")] == ADDED
    assert links[("1:Product Added", "2:Order Completed")] == ORDERED
    assert links[("1:Product Added", "2:(exit)")] == ADDED - ORDERED
    missing = httpx.get(f"{shop.url}/v1/measure/paths", headers=ADMIN)
    assert missing.status_code == 400 and missing.json()["where"] == "query.from"


def test_the_cli_answers_the_same(shop: LiveServer) -> None:
    url = shop.juncture.settings.database_url
    found = CliRunner().invoke(app, [
        "measure", "funnel", "Product Viewed:category=Kitchen", "Product Added",
        "Order Completed", "--format", "json", "--database-url", url,
    ])  # fmt: skip
    assert found.exit_code == 0, found.output
    api = httpx.post(f"{shop.url}/v1/measure/funnel", json=FUNNEL, headers=ADMIN).json()
    assert json.loads(found.stdout) == api["steps"]
    paths = CliRunner().invoke(app, [
        "measure", "paths", "Product Viewed", "--to", "Order Completed", "--database-url", url,
    ])  # fmt: skip
    assert paths.exit_code == 0 and "Product Added > Order Completed (reached)" in paths.stdout
    bad = CliRunner().invoke(app, ["measure", "funnel", "Product Viewed:category"])
    assert bad.exit_code == 2 and "Event:key=value" in bad.output


def test_a_funnel_per_week_of_entry_and_per_segment(shop: LiveServer) -> None:
    url = f"{shop.url}/v1/measure/funnel"
    whole = httpx.post(url, json=FUNNEL, headers=ADMIN).json()["steps"]
    weekly = httpx.post(url, json={**FUNNEL, "period": "week"}, headers=ADMIN)
    assert weekly.status_code == 200, weekly.text
    rows = weekly.json()["steps"]
    # Every shopper entered at the same moment: one week, counted as the whole.
    assert len({r["period"] for r in rows}) == 1
    assert [{k: v for k, v in r.items() if k != "period"} for r in rows] == whole
    per_segment = httpx.post(url, json={**FUNNEL, "segments": ["nobody", "none"]}, headers=ADMIN)
    found = per_segment.json()["steps"]
    assert [(r["segment"], r["step"], r["profiles"]) for r in found] == [
        (s, k, 0) for s in ("nobody", "none") for k in (1, 2, 3)
    ]
    bad = httpx.post(url, json={**FUNNEL, "period": "year"}, headers=ADMIN)
    assert bad.status_code == 400 and bad.json()["where"] == "body.period"


def test_a_funnel_step_holding_nul_is_refused_with_where(shop: LiveServer) -> None:
    """PostgreSQL's text cannot hold NUL: the body is refused, not answered with a 500."""
    url = f"{shop.url}/v1/measure/funnel"
    for step in (
        {"event": "Product\x00Viewed"},
        {"event": "Order Completed", "where": {"c": "a\x00"}},
    ):
        bad = httpx.post(url, json={"steps": [step]}, headers=ADMIN)
        assert bad.status_code == 400, bad.text
        assert bad.json()["where"].startswith("body.steps.0")
