"""Journey KPIs in SQL on every store, against figures worked out by hand from ``kpi_rows``:
first entries per arm with the orders in the window, last-touch attribution of orders, and
messages per node and channel with the opens, clicks and unsubscribes credited to them."""

from __future__ import annotations

import pytest

from juncture.core.measures import Period
from juncture.store.journey_kpis import JourneyKpis
from juncture.store.kpis import KpiQuery
from juncture.store.sql import SqlStore
from tests.contract import kpi_rows
from tests.contract.kpi_rows import DAY, T0


@pytest.fixture
def kpis(store: SqlStore) -> JourneyKpis:
    kpi_rows.write(store.engine)
    kpi_rows.write_journey(store.engine)
    return JourneyKpis(store.engine)


def test_first_entries_per_arm_with_orders_in_the_window(kpis: JourneyKpis) -> None:
    holdout, treatment = kpis.entries(KpiQuery())
    assert treatment == {
        "journey_id": "welcome", "arm": "treatment", "period": "all",
        "profiles": 3,  # p1 (p4's later entry is p1's), p2, p5
        "goal_reached": 1,
        "converted": 2,  # p1's o1 an hour after entry (its copy counted once); p2's o3 and o6
        "orders": 3, "revenue": 140.0, "revenue_squares": 100.0**2 + 40.0**2,
    }  # fmt: skip
    assert (holdout["arm"], holdout["profiles"], holdout["converted"]) == ("holdout", 1, 0)
    (short,) = [r for r in kpis.entries(KpiQuery(window=DAY * 2)) if r["arm"] == "treatment"]
    assert (short["orders"], short["revenue"]) == (2, 135.0)  # p2's o6 is 3 days on
    weeks = kpis.entries(KpiQuery(period=Period.week, since=T0))
    assert {(r["arm"], r["period"], r["profiles"]) for r in weeks} == {
        ("treatment", "2026-03-02", 2),  # p1 entered before T0
        ("holdout", "2026-03-02", 1),
    }
    assert kpis.entries(KpiQuery(journey="other")) == []
    (vip,) = kpis.entries(KpiQuery(segment="vip"))
    assert (vip["arm"], vip["profiles"]) == ("holdout", 1)


def test_orders_are_credited_to_the_last_message_before_them(kpis: JourneyKpis) -> None:
    assert kpis.attribution(KpiQuery()) == [
        # o1 after m1, o3 after m2; o2 came 30 days after m1, past the window
        {"journey_id": "welcome", "node_id": "hello", "channel": "email", "period": "all",
         "orders": 2, "revenue": 135.0},
        # o6 came after the SMS m5, later than m2
        {"journey_id": "welcome", "node_id": "nudge", "channel": "sms", "period": "all",
         "orders": 1, "revenue": 5.0},
    ]  # fmt: skip
    (wide,) = [r for r in kpis.attribution(KpiQuery(window=DAY * 31)) if r["node_id"] == "hello"]
    assert (wide["orders"], wide["revenue"]) == (3, 165.5)


def test_messages_per_node_and_channel_with_what_answered_them(kpis: JourneyKpis) -> None:
    found = {(r["node_id"], r["channel"]): r for r in kpis.messages(KpiQuery())}
    assert set(found) == {("hello", "email"), ("hello", "none"), ("nudge", "sms")}
    email = found[("hello", "email")]
    assert {k: email[k] for k in ("messages", "delivered", "failed", "suppressed", "pending")} == {
        "messages": 4, "delivered": 2, "failed": 1, "suppressed": 1, "pending": 0,
    }  # fmt: skip
    assert email["suppressed_by_reason"] == {"frequency_cap:email": 1}
    # m2 opened by last touch, m1 by the open naming it twenty days on
    assert (email["profiles_delivered"], email["opened"], email["clicked"]) == (2, 2, 1)
    assert email["unsubscribed"] == 0
    assert found[("hello", "none")]["suppressed_by_reason"] == {"holdout": 1}
    sms = found[("nudge", "sms")]
    assert (sms["delivered"], sms["opened"], sms["unsubscribed"]) == (1, 0, 1)
    later = kpis.messages(KpiQuery(since=T0 + DAY))
    assert [(r["node_id"], r["messages"]) for r in later] == [("nudge", 1)]


def test_where_the_enrollments_stand(kpis: JourneyKpis) -> None:
    assert kpis.positions(KpiQuery()) == [
        {"journey_id": "welcome", "node": "hello", "status": "active", "exit_reason": None,
         "enrollments": 5},
    ]  # fmt: skip
    assert [r["enrollments"] for r in kpis.positions(KpiQuery(since=T0))] == [4]  # e1 before
