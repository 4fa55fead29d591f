"""Rates from the KPI counts the store adds up (:mod:`juncture.store.kpis`,
:mod:`juncture.store.journey_kpis`): each function takes rows of counts and sums and
returns them with the rates beside; a rate whose denominator is zero is None. The journeys'
incremental figures compare the treatment with the holdout of the same journey and period
(:mod:`juncture.analytics.experiments`): what the journey caused, with a 95% interval.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from juncture.analytics.experiments import Moments, two_proportions, welch

Row = dict[str, Any]


def ratio(part: float | None, whole: float | None, digits: int = 6) -> float | None:
    """``part / whole`` rounded, None when ``whole`` is zero or missing.

    >>> ratio(1, 3), ratio(1, 0), ratio(None, 2)
    (0.333333, None, None)
    """
    if not whole or part is None:
        return None
    return round(part / whole, digits)


def commerce(rows: Iterable[Row]) -> list[Row]:
    """``aov`` (revenue per order), ``units_per_order``, ``revenue_per_customer``.

    >>> commerce([{"orders": 4, "customers": 2, "revenue": 100.0, "units": 6.0}])[0]["aov"]
    25.0
    """
    return [
        {
            **r,
            "aov": ratio(r["revenue"], r["orders"], 2),
            "units_per_order": ratio(r["units"], r["orders"], 4),
            "revenue_per_customer": ratio(r["revenue"], r["customers"], 2),
        }
        for r in rows
    ]


def carts(rows: Iterable[Row]) -> list[Row]:
    """A cart ends in an order, a ``Cart Abandoned`` or (past checkout) a ``Checkout
    Abandoned``: ``cart_abandonment_rate`` is both abandonments over all three,
    ``checkout_abandonment_rate`` the checkouts abandoned over those and the orders; each
    ``..._recovery_rate`` the abandonments followed by an order within the window.

    >>> r = carts([{"cart_abandoned": 3, "cart_recovered": 1, "checkout_abandoned": 1,
    ...             "checkout_recovered": 0, "checkouts_started": 2, "orders": 4}])[0]
    >>> r["cart_abandonment_rate"], r["checkout_abandonment_rate"], r["cart_recovery_rate"]
    (0.5, 0.2, 0.333333)
    """
    found = []
    for r in rows:
        abandoned = r["cart_abandoned"] + r["checkout_abandoned"]
        found.append(
            {
                **r,
                "cart_abandonment_rate": ratio(abandoned, abandoned + r["orders"]),
                "checkout_abandonment_rate": ratio(
                    r["checkout_abandoned"], r["checkout_abandoned"] + r["orders"]
                ),
                "cart_recovery_rate": ratio(r["cart_recovered"], r["cart_abandoned"]),
                "checkout_recovery_rate": ratio(r["checkout_recovered"], r["checkout_abandoned"]),
            }
        )
    return found


def customers(rows: Iterable[Row]) -> list[Row]:
    """``repeat_rate``: customers with a second order over all customers."""
    return [{**r, "repeat_rate": ratio(r["repeat_customers"], r["customers"])} for r in rows]


def retention(rows: Iterable[Row]) -> list[Row]:
    """``rate``: the cohort's customers who ordered in that month."""
    return [{**r, "rate": ratio(r["active"], r["customers"])} for r in rows]


def messages(rows: Iterable[Row]) -> list[Row]:
    """``delivery_rate`` (delivered over delivered and failed), ``open_rate`` and
    ``click_rate`` (messages opened or clicked over delivered), ``unsubscribe_rate``
    (profiles who unsubscribed over profiles delivered to)."""
    return [
        {
            **r,
            "delivery_rate": ratio(r["delivered"], r["delivered"] + r["failed"]),
            "open_rate": ratio(r["opened"], r["delivered"]),
            "click_rate": ratio(r["clicked"], r["delivered"]),
            "unsubscribe_rate": ratio(r["unsubscribed"], r["profiles_delivered"]),
        }
        for r in rows
    ]


def entries(rows: Iterable[Row]) -> list[Row]:
    """Per journey and period, the arms' rates (``goal_rate``, ``conversion_rate``,
    ``aov``, ``revenue_per_profile``) and, on the treatment's row when both arms have
    entries, ``incremental_conversions`` and ``incremental_revenue`` (the difference in
    rate, or revenue per profile, times the treatment's profiles) each with ``_low`` and
    ``_high`` of its 95% interval (Agresti-Caffo; Welch)."""
    listed = list(rows)
    holdouts = {(r["journey_id"], r["period"]): r for r in listed if r["arm"] == "holdout"}
    found = []
    for r in listed:
        row = {
            **r,
            "goal_rate": ratio(r["goal_reached"], r["profiles"]),
            "conversion_rate": ratio(r["converted"], r["profiles"]),
            "aov": ratio(r["revenue"], r["orders"], 2),
            "revenue_per_profile": ratio(r["revenue"], r["profiles"], 4),
        }
        holdout = holdouts.get((r["journey_id"], r["period"]))
        if r["arm"] == "treatment" and holdout is not None:
            row.update(incremental(r, holdout))
        found.append(row)
    return found


def incremental(treatment: Row, holdout: Row) -> Row:
    """What the treatment caused over its holdout, in conversions and revenue.

    >>> t = {"profiles": 100, "converted": 30, "revenue": 900.0, "revenue_squares": 30000.0}
    >>> h = {"profiles": 100, "converted": 10, "revenue": 300.0, "revenue_squares": 10000.0}
    >>> found = incremental(t, h)
    >>> found["incremental_conversions"], found["incremental_revenue"]
    (20.0, 600.0)
    """
    n = treatment["profiles"]
    conv = two_proportions(treatment["converted"], n, holdout["converted"], holdout["profiles"])
    found: Row = {
        "incremental_conversions": round(conv.difference * n, 2),
        "incremental_conversions_low": round(conv.low * n, 2),
        "incremental_conversions_high": round(conv.high * n, 2),
    }
    t = Moments.from_sums(n, treatment["revenue"], treatment["revenue_squares"])
    h = Moments.from_sums(holdout["profiles"], holdout["revenue"], holdout["revenue_squares"])
    if t.n < 2 or h.n < 2:
        return {**found, "incremental_revenue": round((t.mean - h.mean) * n, 2)}
    spend = welch(t, h)
    return {
        **found,
        "incremental_revenue": round(spend.difference * n, 2),
        "incremental_revenue_low": round(spend.low * n, 2),
        "incremental_revenue_high": round(spend.high * n, 2),
    }
