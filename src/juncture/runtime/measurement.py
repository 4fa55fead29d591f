"""Measurement shared by the CLI (``juncture measure``) and the admin API
(``/v1/measure``): journey KPIs and experiments, lifetime value, and experiment plans, read
from the store's repositories, with CSV and JSON out.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Sequence
from typing import Any

from juncture.analytics import clv, measure, planning
from juncture.runtime import lifetime_value
from juncture.runtime.lifetime_value import Run
from juncture.store.customer_orders import CustomerOrders
from juncture.store.journey_measures import JourneyMeasures
from juncture.store.journeys import JourneyStore


class Measurement:
    """What a user can measure, over the store's repositories; ``run`` runs a processor in a
    writer's transaction (for writing the ``clv`` trait)."""

    def __init__(
        self, journeys: JourneyStore, measures: JourneyMeasures, orders: CustomerOrders, run: Run
    ) -> None:
        self.journeys = journeys
        self.measures = measures
        self.orders = orders
        self.run = run

    def report(
        self,
        now: dt.datetime,
        *,
        journey_id: str | None = None,
        window: dt.timedelta = dt.timedelta(days=7),
        smallest_lift: float = 0.1,
    ) -> measure.Report:
        """The KPIs and experiments of every journey, or of ``journey_id`` (which must exist:
        ``errors.NotFound`` otherwise)."""
        if journey_id is not None:
            specs = {journey_id: self.journeys.show(journey_id).spec}
        else:
            specs = {j.spec.id: j.spec for j in self.journeys.list()}
        return measure.report(
            self.measures.rows(journey_id), self.orders.histories(), specs, now,
            window=window, smallest_lift=smallest_lift,
        )  # fmt: skip

    def clv(
        self, now: dt.datetime, horizon_days: float = 365.0, discount: float = 0.0, *, write: bool
    ) -> clv.Scores:
        """Fit the lifetime-value models and, with ``write``, store each customer's trait."""
        return lifetime_value.refresh(
            self.orders, self.run, now, horizon_days, discount, write=write
        )


def clv_summary(scores: clv.Scores, top: int = 10) -> dict[str, Any]:
    """The fitted models, the customers scored, and the highest predicted values."""
    p = scores.prediction
    order = sorted(range(len(scores.profile_ids)), key=lambda i: -float(p.clv[i]))[:top]
    return {
        "customers": len(scores.profile_ids),
        "horizon_days": scores.horizon_days,
        "model": scores.model.to_json(),
        "predicted_total": round(float(p.clv.sum()), 2),
        "mean_p_alive": round(float(p.alive.mean()), 4) if len(p.alive) else None,
        "top": [
            {"profile_id": scores.profile_ids[i], "predicted": round(float(p.clv[i]), 2),
             "p_alive": round(float(p.alive[i]), 4)}
            for i in order
        ],
    }  # fmt: skip


def plan(
    baseline: float,
    lift: float,
    *,
    power: float = 0.8,
    alpha: float = 0.05,
    ratio: float = 1.0,
    per_day: float | None = None,
) -> dict[str, Any]:
    """The profiles (and days) needed to find a relative ``lift`` on a ``baseline`` rate."""
    found = planning.for_proportions(
        baseline, lift, power_wanted=power, ratio=ratio, alpha=alpha, per_day=per_day
    )
    return {"baseline": baseline, "lift": lift, "power": power, "alpha": alpha,
            "ratio": ratio, **found.to_json()}  # fmt: skip


def to_csv(rows: Sequence[dict[str, Any]]) -> str:
    """Rows as CSV with a header: every key of any row, in the order first seen (a row
    without one leaves it empty); empty text for no rows."""
    if not rows:
        return ""
    names = list(dict.fromkeys(k for row in rows for k in row))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=names, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
