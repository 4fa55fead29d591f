"""The journey report from plain rows: merges followed, conversions counted after entry only,
revenue by currency, counts largest first."""

from __future__ import annotations

import datetime as dt

import orjson

from juncture.analytics.journeys import report
from juncture.store.journey_report import Entry, Order, ReportRows

T0 = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


def order(pid: str, at: dt.datetime, **properties: object) -> Order:
    return Order(pid, at, orjson.dumps({"properties": properties}).decode())


def rows(**changed: object) -> ReportRows:
    given: dict[str, object] = {
        "redirects": {},
        "orders": [],
        "sent_by_channel": [],
        "suppressed_by_reason": [],
        "entries": [],
        "entered": [],
    }
    return ReportRows(**{**given, **changed})  # type: ignore[arg-type]


def test_an_order_of_a_merged_profile_converts_its_survivor_after_entry_only() -> None:
    found = report(
        rows(
            redirects={"anon": "p1"},
            orders=[order("anon", T0 + HOUR, total=20), order("p2", T0 - HOUR, total=5)],
            entries=[Entry("j", False, "p1", T0), Entry("j", False, "p2", T0)],
            entered=[("j", False, 2)],
        )
    )
    lift = found["lift"]["j"]
    assert lift["treatment"] == {"profiles": 2, "converted": 1}  # p2 ordered before entering
    assert lift["holdout"] == {"profiles": 0, "converted": 0}
    assert found["entered"] == {"j": {"treatment": 2, "holdout": 0}}


def test_a_profile_entering_twice_counts_from_its_first_entry() -> None:
    entries = [Entry("j", True, "p1", T0 + 2 * HOUR), Entry("j", True, "p1", T0)]
    found = report(rows(orders=[order("p1", T0 + HOUR, total=1)], entries=entries))
    assert found["lift"]["j"]["holdout"] == {"profiles": 1, "converted": 1}


def test_revenue_prefers_revenue_to_total_and_sums_by_currency() -> None:
    orders = [
        order("p1", T0, revenue=10.25, total=99, currency="EUR"),
        order("p2", T0, total=2.5, currency="EUR"),
        order("p3", T0, total=4),
    ]
    found = report(rows(orders=orders))
    assert found["orders"] == 3
    assert found["revenue"] == {"EUR": 12.75, "unknown": 4.0}


def test_outbox_counts_come_largest_first_with_unnamed_reasons_named() -> None:
    found = report(
        rows(
            sent_by_channel=[("sms", 1), ("email", 5)],
            suppressed_by_reason=[(None, 1), ("cap", 3)],
        )
    )
    assert list(found["messages_by_channel"].items()) == [("email", 5), ("sms", 1)]
    assert list(found["suppressions_by_reason"].items()) == [("cap", 3), ("None", 1)]
