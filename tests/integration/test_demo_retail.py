"""The demo's retailer: its tables imported, touchpoints asked for by its pages, and
recommendations against a best-sellers holdout; the summary's figures are what the store
recorded, and the holdout never saw anything but best-sellers."""

from __future__ import annotations

import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa

from juncture.demo import harness, outcomes, retail
from juncture.recommend import attribution
from juncture.recommend.base import BEST_SELLERS
from juncture.store import catalog_tables, tables
from juncture.store.sql import SqlStore
from tests.conftest import settings_for

CUSTOMERS, DAYS, SEED, PAGES = 300, 7, 3, 0.3


@pytest.fixture(scope="module")
def demo(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, Any]:
    path = tmp_path_factory.mktemp("demo-retail") / "demo.db"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    juncture, clock = harness.build(settings_for(url, sqlite_synchronous="NORMAL"))
    try:
        summary = harness.run(
            juncture, clock, seed=SEED, customers=CUSTOMERS, days=DAYS, pages=PAGES
        )
    finally:
        juncture.close()
    return url, summary.to_json()


def rows(url: str, query: Any) -> list[Any]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        found = list(conn.execute(query))
    engine.dispose()
    return found


def test_the_tables_are_imported_through_the_feeds(demo: tuple[str, Any]) -> None:
    url, s = demo
    imported = s["retail"]["tables"]
    products = rows(url, sa.select(sa.func.count()).select_from(catalog_tables.products))[0][0]
    assert imported["products"] == products == 600
    assert imported["inventory"] == 3000 and imported["reviews"] > 0
    assert s["retail"]["announced"] > 0  # the daily changes became shoppers' events


def test_touchpoints_shown_and_clicked_are_the_stored_ones(demo: tuple[str, Any]) -> None:
    url, s = demo
    figures = s["retail"]["touchpoints"]
    o = tables.outbox
    stored = rows(url, sa.select(o.c.payload).where(o.c.status == "shown"))
    by_kind: Counter[str] = Counter()
    for (payload,) in stored:
        body = orjson.loads(payload) if isinstance(payload, str | bytes) else payload
        data = body.get("data") or {}
        kind = data.get("kind")
        by_kind[kind if isinstance(kind, str) else str(body["kind"])] += 1
    assert {k: v["shown"] for k, v in figures.items()} == dict(by_kind)
    assert {"compare", "wishlist", BEST_SELLERS, retail.PERSONAL} <= set(by_kind)
    e = tables.events
    clicks = rows(url, sa.select(e.c.body).where(e.c.event == "Promotion Clicked"))
    clicked = Counter(orjson.loads(b)["properties"]["promotion_id"] for (b,) in clicks)
    touch = {
        k: v["clicked"] for k, v in figures.items() if k not in (BEST_SELLERS, retail.PERSONAL)
    }
    assert {f"touchpoint_{k}": v for k, v in touch.items() if v} == dict(clicked)
    # the simulator's own counts are not these: some shoppers had left the page, some
    # answers reached no one the simulation knows (the kiosk), or came after its end
    truth = s["simulation"]["onsite"]
    reached = sum(v.get("shown", 0) + v.get("missed", 0) for v in truth.values())
    assert sum(v["shown"] for v in figures.values()) >= reached > 0


def test_the_summary_is_read_back_from_the_store(demo: tuple[str, Any]) -> None:
    url, s = demo
    store = SqlStore(url)
    try:
        again = outcomes.report(store.outbox, store.recommend)
    finally:
        store.close()
    assert again["touchpoints"] == s["retail"]["touchpoints"]
    assert again["recommendations"] == s["retail"]["recommendations"]
    arms = s["retail"]["recommendations"]["arms"]
    assert arms["personal"]["shoppers"] > 0 and arms["popular"]["shoppers"] > 0
    comparison = s["retail"]["recommendations"]["revenue_per_shopper"]
    assert comparison["difference_low"] <= comparison["difference"] <= comparison["difference_high"]


def test_the_holdout_got_best_sellers_only(demo: tuple[str, Any]) -> None:
    url, s = demo
    o = tables.outbox
    shown = rows(url, sa.select(o.c.profile_id, o.c.payload).where(o.c.status == "shown"))
    slots = 0
    for profile_id, payload in shown:
        body = orjson.loads(payload) if isinstance(payload, str | bytes) else payload
        data = body.get("data") or {}
        if "recommendationId" not in data:
            continue
        slots += 1
        assert attribution.kind_of(data["recommendationId"]) == data["kind"]
        assert (data["kind"] == BEST_SELLERS) == (retail.arm(profile_id) == retail.POPULAR)
    assert slots > 0
    messages = s["retail"]["messages_recommending"]
    assert sum(messages.values()) > 0  # the messages listed recommendations
    for key in messages:
        arm, kind = key.split(":")
        assert (kind == BEST_SELLERS) == (arm == retail.POPULAR), key
