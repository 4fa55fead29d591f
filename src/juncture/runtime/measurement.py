"""Measurement shared by the CLI (``juncture measure``), the admin API (``/v1/measure``) and
the dashboard: journey KPIs and experiments, shop-wide and journey KPI reports
(:meth:`Measurement.kpis`), lifetime value, and experiment plans, read from the store's
repositories, with CSV and JSON out.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
from collections.abc import Callable, Sequence
from typing import Any

from juncture.analytics import clv, funnels, kpis, measure, planning, survey_report
from juncture.core.measures import KpiReport, Period
from juncture.core.pipeline import EngineConfig
from juncture.runtime import dry_run, lifetime_value
from juncture.runtime.lifetime_value import Run
from juncture.store.customer_orders import CustomerOrders
from juncture.store.funnels import Funnels, Step
from juncture.store.journey_kpis import JourneyKpis
from juncture.store.journey_measures import JourneyMeasures
from juncture.store.journeys import JourneyStore
from juncture.store.kpis import KpiQuery, Kpis
from juncture.store.surveys import Surveys
from juncture.store.touchpoint_map import TouchpointMaps

Row = dict[str, Any]


FOLLOW_UP = "nps_follow_up"  # the shipped detractor follow-up journey


class Measurement:
    """What a user can measure, over the store's repositories; ``run`` runs a processor in a
    writer's transaction (for writing the ``clv`` trait)."""

    def __init__(
        self,
        journeys: JourneyStore,
        measures: JourneyMeasures,
        orders: CustomerOrders,
        run: Run,
        config: EngineConfig | None = None,
    ) -> None:
        self.config = config or EngineConfig()  # the engine's rules, for dry runs
        self.journeys = journeys
        self.measures = measures
        self.orders = orders
        self.run = run
        self.shop = Kpis(measures.engine)
        self.journey_kpis = JourneyKpis(measures.engine)
        self.funnels = Funnels(measures.engine)
        self.maps = TouchpointMaps(measures.engine)
        self.surveys = Surveys(measures.engine)

    def kpis(self, report: KpiReport, query: KpiQuery) -> list[Row]:
        """The rows of one KPI report over ``query`` (period, range, segment, journey,
        window), with their rates."""
        found: dict[KpiReport, Callable[[KpiQuery], list[Row]]] = {
            KpiReport.commerce: lambda q: kpis.commerce(self.shop.commerce(q)),
            KpiReport.carts: lambda q: kpis.carts(self.shop.carts(q)),
            KpiReport.customers: lambda q: kpis.customers(self.shop.customers(q)),
            KpiReport.retention: lambda q: kpis.retention(self.shop.retention(q)),
            KpiReport.stages: self.shop.stages,
            KpiReport.stage_moves: self.shop.stage_moves,
            KpiReport.journeys: lambda q: kpis.entries(self.journey_kpis.entries(q)),
            KpiReport.attribution: self.journey_kpis.attribution,
            KpiReport.messages: lambda q: kpis.messages(self.journey_kpis.messages(q)),
            KpiReport.surveys: lambda q: survey_report.scores(self.surveys.rows(q), q.period, q.by),
            KpiReport.follow_up: lambda q: survey_report.follow_up(
                self.surveys.rows(q, orders_after=True), q.journey or FOLLOW_UP, q.window
            ),
        }
        return found[report](query)

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

    def funnel(
        self, steps: Sequence[Step], query: KpiQuery, segments: Sequence[str] = ()
    ) -> list[Row]:
        """Each step of an ordered funnel (``query.window`` from the first step): ``step``,
        ``event``, ``profiles``, ``conversion_from_previous``, ``conversion_from_first``,
        ``dropped``, ``mean_days_from_previous``, ``median_days_from_previous``. Per
        ``query.period`` (the entrants of each, ``period`` its first day) and per segment of
        ``segments`` (``segment``), when given."""
        out: list[Row] = []
        chosen: Sequence[str | None] = segments or [query.segment]
        for segment in chosen:
            q = dataclasses.replace(query, segment=segment)
            for since, until, label in self._spans(steps[0], q):
                span = dataclasses.replace(q, since=since, until=until)
                rows = self.funnels.funnel(steps, span)
                keys = {"segment": segment} if segments else {}
                if q.period is not Period.all:
                    keys["period"] = label
                out += [{**keys, **r} for r in funnels.funnel([s.event for s in steps], rows)]
        return out

    def _spans(
        self, first: Step, q: KpiQuery
    ) -> list[tuple[dt.datetime | None, dt.datetime | None, str]]:
        if q.period is Period.all:
            return [(q.since, q.until, "all")]
        earliest, latest = self.funnels.entries(first, q)
        if earliest is None or latest is None:
            return []
        return [
            (max(start, q.since) if q.since else start, min(end, q.until) if q.until else end,
             start.date().isoformat())
            for start, end in funnels.periods(earliest, latest, q.period)
        ]  # fmt: skip

    def paths(
        self, start: str, end: str | None, query: KpiQuery, *, max_steps: int = 5,
        min_profiles: int = 1,
    ) -> Row:  # fmt: skip
        """What profiles did after ``start`` (up to ``end``), as Sankey data: ``start``,
        ``end``, ``profiles`` (who started), ``reached`` (who got to the end), ``nodes``,
        ``links`` and ``paths`` (see :func:`juncture.analytics.funnels.sankey`)."""
        started, found = self.funnels.paths(start, end, query, max_steps)
        drawn = funnels.sankey(start, started, found, min_profiles)
        reached = sum(p["profiles"] for p in found if p["reached"])
        return {"start": start, "end": end, "profiles": started,
                "reached": reached if end is not None else None, **drawn}  # fmt: skip

    def touchpoints(self, query: KpiQuery, profile_id: str | None = None) -> list[Row]:
        """The touchpoint map (:mod:`juncture.store.touchpoint_map`): one person's touches in
        order with the stage of each, or, without ``profile_id``, per stage, channel and
        touchpoint how many profiles met it and how often."""
        if profile_id is None:
            return self.maps.by_stage(query)
        return self.maps.of_person(profile_id, query)

    def dry_run(
        self, text: str, filename: str, *, since: dt.datetime, now: dt.datetime,
        window: dt.timedelta = dt.timedelta(days=7),
    ) -> Row:  # fmt: skip
        """What the draft journey ``text`` would have done from ``since`` to ``now``, sending
        nothing and writing nothing here (:mod:`juncture.runtime.dry_run`)."""
        return dry_run.dry_run(
            self.measures, self.config, text, filename, since=since, now=now, window=window
        )

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


def flat(rows: Sequence[Row]) -> list[Row]:
    """Rows with each nested object spread into columns ``key.inner`` (for CSV)."""
    return [
        {
            f"{k}.{inner}" if isinstance(v, dict) else k: x
            for k, v in row.items()
            for inner, x in (v.items() if isinstance(v, dict) else [(k, v)])
        }
        for row in rows
    ]


def to_csv(rows: Sequence[dict[str, Any]]) -> str:
    """Rows as CSV with a header: every key of any row, in the order first seen (a row
    without one leaves it empty), nested objects spread into ``key.inner`` columns; empty
    text for no rows."""
    if not rows:
        return ""
    rows = flat(rows)
    names = list(dict.fromkeys(k for row in rows for k in row))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=names, restval="", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()
