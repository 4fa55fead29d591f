"""Funnels and paths in SQL on every store, against figures worked out by hand from the
rows in ``kpi_rows`` and the browsing added here."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from juncture.analytics import funnels as shapes
from juncture.store.funnels import Funnels, Step
from juncture.store.kpis import KpiQuery
from juncture.store.sql import SqlStore
from tests.contract import kpi_rows
from tests.contract.kpi_rows import DAY, HOUR, T0

BROWSING: list[tuple[str, str, dt.datetime, dict[str, Any]]] = [
    ("p4", "Product Viewed", T0 - 3 * HOUR, {"category": "Kitchen"}),  # p4 lives on in p1
    ("p1", "Product Viewed", T0 - 2 * HOUR, {"category": "Kitchen"}),
    ("p1", "Product Added", T0 - HOUR, {"quantity": 2}),
    ("p2", "Product Viewed", T0 + HOUR, {"category": "Kitchen"}),
    ("p2", "Product Viewed", T0 + 2 * HOUR, {"category": "Garden"}),
    ("p2", "Product Added", T0 + 5 * HOUR, {"quantity": 1}),
    ("p3", "Product Viewed", T0, {"category": "Garden"}),
    ("p5", "Product Viewed", T0, {"category": "Kitchen"}),
    ("p5", "Product Added", T0 + 10 * DAY, {"quantity": 2}),  # past a week
]
STEPS = [Step("Product Viewed", {"category": "Kitchen"}), Step("Product Added"),
         Step("Order Completed")]  # fmt: skip


@pytest.fixture
def funnels(store: SqlStore) -> Funnels:
    extra = [
        kpi_rows.event(100 + i, p, e, at, **props) for i, (p, e, at, props) in enumerate(BROWSING)
    ]
    kpi_rows.write(store.engine, extra)
    return Funnels(store.engine)


def test_a_funnel_counts_each_step_in_order_within_the_window(funnels: Funnels) -> None:
    found = funnels.funnel(STEPS, KpiQuery())
    assert [r["profiles"] for r in found] == [3, 2, 2]  # p1 (with p4), p2, p5; p5 added late
    assert found[0]["median_days_from_previous"] is None
    # view -> add: p1 2 hours (from p4's view), p2 4 hours; add -> order: 1 hour, 19 hours
    assert found[1]["median_days_from_previous"] == pytest.approx(3 / 24)
    assert found[2]["median_days_from_previous"] == pytest.approx(10 / 24)
    assert found[2]["mean_days_from_previous"] == pytest.approx(10 / 24)
    wide = funnels.funnel(STEPS, KpiQuery(window=11 * DAY))
    assert [r["profiles"] for r in wide] == [3, 3, 2]
    numbered = [Step("Product Added", {"quantity": 2})]
    assert funnels.funnel(numbered, KpiQuery())[0]["profiles"] == 2
    rates = shapes.funnel([s.event for s in STEPS], found)
    assert [r["dropped"] for r in rates] == [None, 1, 0]
    assert rates[1]["conversion_from_previous"] == pytest.approx(2 / 3, abs=1e-6)


def test_paths_from_a_view_to_an_order(funnels: Funnels) -> None:
    started, paths = funnels.paths("Product Viewed", "Order Completed", KpiQuery(), 3)
    assert started == 4
    assert paths == [  # as many each: in the order of their steps
        # p2 went on to check out (the engine's own events are not steps)
        {"steps": ["Product Viewed", "Product Added", "Checkout Started"], "reached": True,
         "longer": True, "profiles": 1},
        {"steps": ["Product Viewed", "Product Added", "Order Completed"], "reached": True,
         "longer": False, "profiles": 1},
    ]  # fmt: skip
    drawn = shapes.sankey("Product Viewed", started, paths, min_profiles=1)
    nodes = {n["id"]: n["profiles"] for n in drawn["nodes"]}
    assert nodes == {"0:Product Viewed": 4, "1:Product Viewed": 2, "2:Product Added": 2,
                     "3:Order Completed": 1, "3:Checkout Started": 1, "1:(exit)": 2}  # fmt: skip
    links = {(x["source"], x["target"]): x["profiles"] for x in drawn["links"]}
    assert links[("2:Product Added", "3:Order Completed")] == 1
    assert links[("0:Product Viewed", "1:(exit)")] == 2  # p3 and p5 did nothing more in time
    rare = shapes.sankey("Product Viewed", started, paths, min_profiles=2)
    assert {n["id"] for n in rare["nodes"]} >= {"3:(other)"}
    (_, everything) = funnels.paths("Product Viewed", None, KpiQuery(segment="vip"), 5)
    assert everything == []  # p3 did nothing after its view within the week
