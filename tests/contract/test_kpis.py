"""Shop-wide KPIs in SQL on every store, against figures worked out by hand from the rows in
``kpi_rows`` (orders deduplicated by id, a merged profile's orders counted for the profile
it lives on in, revenue from revenue/total/value/products, numeric strings included)."""

from __future__ import annotations

import pytest

from juncture.core.measures import Period
from juncture.store.kpis import KpiQuery, Kpis
from juncture.store.sql import SqlStore
from tests.contract import kpi_rows
from tests.contract.kpi_rows import DAY, T0


@pytest.fixture
def kpis(store: SqlStore) -> Kpis:
    kpi_rows.write(store.engine)
    return Kpis(store.engine)


def test_orders_revenue_and_units_per_month_week_and_segment(kpis: Kpis) -> None:
    assert kpis.commerce(KpiQuery(period=Period.month)) == [
        {"period": "2026-03-01", "orders": 3, "customers": 2, "revenue": 140.0, "units": 6.0},
        {"period": "2026-04-01", "orders": 3, "customers": 2, "revenue": 60.5, "units": 0.0},
    ]
    weeks = {r["period"]: r["orders"] for r in kpis.commerce(KpiQuery(period=Period.week))}
    # T0 is Monday 2 March; 1 April is a Wednesday, 11 April a Saturday, 15 April a Wednesday.
    assert weeks == {"2026-03-02": 3, "2026-03-30": 1, "2026-04-06": 1, "2026-04-13": 1}
    (vip,) = kpis.commerce(KpiQuery(segment="vip"))
    assert (vip["period"], vip["orders"], vip["revenue"]) == ("all", 2, 30.0)
    (late,) = kpis.commerce(KpiQuery(since=T0 + 2 * DAY, until=T0 + 41 * DAY))
    assert (late["orders"], late["revenue"]) == (3, 55.5)  # o6, o2, o4


def test_cart_and_checkout_abandonment_and_recovery(kpis: Kpis) -> None:
    (week,) = kpis.carts(KpiQuery())
    assert week == {
        "period": "all",
        "cart_abandoned": 2,
        "cart_recovered": 2,  # p2 a day later; p1 five days later, through merged p4's order
        "checkout_abandoned": 1,
        "checkout_recovered": 0,  # p3 ordered forty days later
        "checkouts_started": 2,
        "orders": 6,
    }
    (short,) = kpis.carts(KpiQuery(window=3 * DAY))
    assert short["cart_recovered"] == 1


def test_repeat_customers_and_days_between_orders(kpis: Kpis) -> None:
    (everyone,) = kpis.customers(KpiQuery())
    assert everyone["customers"] == everyone["repeat_customers"] == 3
    assert everyone["gaps"] == 3  # 30 days (p1), 2 (p2), 4 (p3)
    assert everyone["mean_days_between_orders"] == pytest.approx(12.0)
    assert everyone["median_days_between_orders"] == pytest.approx(4.0)
    march, april = kpis.customers(KpiQuery(period=Period.month))
    assert (march["customers"], march["median_days_between_orders"]) == (2, pytest.approx(16.0))
    assert (april["customers"], april["gaps"]) == (1, 1)
    (late,) = kpis.customers(KpiQuery(since=T0 + 2 * DAY))
    assert (late["customers"], late["repeat_customers"], late["gaps"]) == (3, 1, 1)


def test_retention_by_monthly_cohort(kpis: Kpis) -> None:
    assert kpis.retention(KpiQuery()) == [
        {"cohort": "2026-03-01", "month": 0, "customers": 2, "active": 2},
        {"cohort": "2026-03-01", "month": 1, "customers": 2, "active": 1},
        {"cohort": "2026-04-01", "month": 0, "customers": 1, "active": 1},
    ]


def test_stages_now_and_moves_per_week(kpis: Kpis) -> None:
    assert kpis.stages(KpiQuery()) == [
        {"stage": "awareness", "profiles": 1},
        {"stage": "decision", "profiles": 1},
        {"stage": "lapsed", "profiles": 1},
        {"stage": "loyalty", "profiles": 1},  # p4 lives on in p1
    ]
    assert kpis.stage_moves(KpiQuery(period=Period.week)) == [
        {"period": "2026-03-02", "from": "awareness", "to": "consideration", "profiles": 2,
         "moves": 2},
        {"period": "2026-03-02", "from": "consideration", "to": "decision", "profiles": 1,
         "moves": 1},
    ]  # fmt: skip
