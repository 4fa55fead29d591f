"""Shop-wide KPIs in SQL, set-based, on SQLite and PostgreSQL: orders and revenue per period,
cart and checkout abandonment and recovery, customers (repeat purchases, time between
orders), retention by monthly acquisition cohort, and the journey stages (where profiles
stand, and how they moved). Journey KPIs are in :mod:`juncture.store.journey_kpis`.

Each read answers plain rows (``dict`` per row, counts and sums only); rates are derived in
:mod:`juncture.analytics.kpis`. Events count for the profile they live on in now (one hop
of ``redirect_to``); orders are deduplicated by ``order_id`` as the profile keeps them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa

from juncture.core.abandonment import CART_ABANDONED, CHECKOUT_ABANDONED
from juncture.core.measures import Breakdown, Period
from juncture.core.stage import STAGE_CHANGED
from juncture.store import failures, tables
from juncture.store.kpi_sql import (
    Body,
    days_between,
    events_of_live,
    live_profile,
    members,
    orders,
    orders_placed,
    period,
    soon_after,
    within,
)

_E: Final = tables.events
_P: Final = tables.profiles
CHECKOUT_STARTED: Final = "Checkout Started"
Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class KpiQuery:
    """What to measure over: events in ``[since, until)``, grouped by ``period``, of the
    current members of ``segment`` only, of journey ``journey`` only (journey reads); an
    order or an answer to a message counts within ``window`` after it; survey scores are
    grouped ``by`` segment, journey or store."""

    since: dt.datetime | None = None
    until: dt.datetime | None = None
    period: Period = Period.all
    segment: str | None = None
    journey: str | None = None
    window: dt.timedelta = dt.timedelta(days=7)
    by: Breakdown = Breakdown.all

    @property
    def window_days(self) -> float:
        return self.window.total_seconds() / 86400


def plain(row: Any) -> Row:
    """A result row as a dict with plain ``str`` keys (a label may be a ``str`` subclass,
    which JSON encoders refuse as a key)."""
    return {str(k): v for k, v in row._mapping.items()}


def total(value: sa.ColumnElement[Any]) -> sa.ColumnElement[int]:
    """The sum of an integer column as an integer (PostgreSQL's is ``numeric``)."""
    return sa.cast(sa.func.coalesce(sa.func.sum(value), 0), sa.Integer)


def in_segment(profile: sa.ColumnElement[str], q: KpiQuery) -> list[sa.ColumnElement[bool]]:
    return [] if q.segment is None else [profile.in_(members(q.segment))]


class Reads:
    """Reads over one SQL store that answer plain rows (the KPI, funnel and path reads)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name

    @contextmanager
    def _connect(self) -> Iterator[sa.Connection]:
        with failures.connection(self.engine) as conn:
            if self.dialect == "postgresql":
                # These statements are estimated dear (hundreds of thousands of cost units
                # on the demo's data), so PostgreSQL compiles them with JIT first: about 2 s
                # of a 3.4 s paths query, against 0.9 s without. For this transaction only.
                conn.exec_driver_sql("SET LOCAL jit = off")
            yield conn

    def _rows(self, query: sa.Executable) -> list[Row]:
        with self._connect() as conn:
            return [plain(r) for r in conn.execute(query)]


class Kpis(Reads):
    """Shop-wide KPI reads over one SQL store."""

    def commerce(self, q: KpiQuery) -> list[Row]:
        """Per period: ``orders``, ``customers`` (distinct), ``revenue``, ``units``."""
        o = orders(self.dialect)
        key = period(o.c.at, q.period, self.dialect).label("period")
        query = (
            sa.select(
                key,
                sa.func.count().label("orders"),
                sa.func.count(sa.distinct(o.c.profile_id)).label("customers"),
                sa.func.coalesce(sa.func.sum(o.c.revenue), 0.0).label("revenue"),
                sa.func.coalesce(sa.func.sum(o.c.units), 0.0).label("units"),
            )
            .where(*within(o.c.at, q.since, q.until), *in_segment(o.c.profile_id, q))
            .group_by(key)
            .order_by(key)
        )
        return self._rows(query)

    def carts(self, q: KpiQuery) -> list[Row]:
        """Per period: ``cart_abandoned`` and ``checkout_abandoned`` (the engine's signals),
        each ``..._recovered`` when the same profile ordered within the window after it,
        ``checkouts_started`` and ``orders``."""
        signals = self._abandonments(q)
        started = self._count_events(q, CHECKOUT_STARTED)
        placed = {r["period"]: r["orders"] for r in self.commerce(q)}
        keys = sorted({*signals, *started, *placed})
        names = ("cart_abandoned", "cart_recovered", "checkout_abandoned", "checkout_recovered")
        return [
            {
                "period": k,
                **{n: signals.get(k, {}).get(n, 0) for n in names},
                "checkouts_started": started.get(k, 0),
                "orders": placed.get(k, 0),
            }
            for k in keys
        ]

    def _abandonments(self, q: KpiQuery) -> dict[str, dict[str, int]]:
        profile = live_profile()
        signals = (
            sa.select(
                _E.c.seq, _E.c.event, _E.c.timestamp.label("at"), profile.label("profile_id"),
                period(_E.c.timestamp, q.period, self.dialect).label("period"),
            )
            .select_from(events_of_live())
            .where(
                _E.c.event.in_([CART_ABANDONED, CHECKOUT_ABANDONED]),
                *within(_E.c.timestamp, q.since, q.until),
                *in_segment(profile, q),
            )
            .cte("signals")
            .prefix_with("MATERIALIZED")
        )  # fmt: skip
        placed = orders_placed()
        recovered = (
            sa.select(signals.c.seq)
            .join_from(signals, placed, placed.c.profile_id == signals.c.profile_id)
            .where(soon_after(signals.c.at, placed.c.at, q.window_days, self.dialect))
            .group_by(signals.c.seq)
            .subquery("recovered")
        )
        keys = (signals.c.period, signals.c.event)
        query = (
            sa.select(*keys, sa.func.count(), sa.func.count(recovered.c.seq))
            .select_from(signals.outerjoin(recovered, recovered.c.seq == signals.c.seq))
            .group_by(*keys)
        )
        found: dict[str, dict[str, int]] = {}
        with self._connect() as conn:
            for k, event, count, recovered in conn.execute(query):
                name = "cart" if event == CART_ABANDONED else "checkout"
                found.setdefault(k, {})[f"{name}_abandoned"] = int(count)
                found[k][f"{name}_recovered"] = int(recovered)
        return found

    def _count_events(self, q: KpiQuery, event: str) -> dict[str, int]:
        key = period(_E.c.timestamp, q.period, self.dialect).label("period")
        query = (
            sa.select(key, sa.func.count())
            .select_from(events_of_live())
            .where(
                _E.c.event == event,
                *within(_E.c.timestamp, q.since, q.until),
                *in_segment(live_profile(), q),
            )
            .group_by(key)
        )
        with self._connect() as conn:
            return {k: int(n) for k, n in conn.execute(query)}

    def customers(self, q: KpiQuery) -> list[Row]:
        """Per period of each customer's first order in range: ``customers``,
        ``repeat_customers`` (two orders or more in range), ``gaps`` (times between one
        order and the next), ``mean_days_between_orders`` and ``median_days_between_orders``."""
        o = _orders_in(q, self.dialect)
        first = (
            sa.select(
                o.c.profile_id, sa.func.min(o.c.at).label("first_at"), sa.func.count().label("n")
            )
            .group_by(o.c.profile_id)
            .subquery("first")
        )
        cohort = period(first.c.first_at, q.period, self.dialect).label("period")
        counts = sa.select(
            cohort,
            sa.func.count().label("customers"),
            total(sa.case((first.c.n >= 2, 1), else_=0)).label("repeat_customers"),
        ).group_by(cohort)
        gaps = self._gaps(o, first, q.period)
        with self._connect() as conn:
            rows = {r.period: plain(r) for r in conn.execute(counts)}
            for r in conn.execute(gaps):
                rows[r.period].update(plain(r))
        empty = {"gaps": 0, "mean_days_between_orders": None, "median_days_between_orders": None}
        return [{**empty, **rows[k]} for k in sorted(rows)]

    def _gaps(self, o: sa.Subquery, first: sa.Subquery, unit: Period) -> sa.Select[Any]:
        before = sa.func.lag(o.c.at).over(partition_by=o.c.profile_id, order_by=o.c.at)
        steps = sa.select(o.c.profile_id, o.c.at, before.label("before")).subquery("steps")
        days = days_between(steps.c.before, steps.c.at, self.dialect)
        cohort = period(first.c.first_at, unit, self.dialect)
        spaced = (
            sa.select(cohort.label("period"), days.label("days"))
            .join_from(steps, first, first.c.profile_id == steps.c.profile_id)
            .where(steps.c.before.is_not(None))
            .subquery("spaced")
        )
        return median_by(spaced, "days", "days_between_orders")

    def retention(self, q: KpiQuery) -> list[Row]:
        """Per monthly acquisition cohort (the month of each customer's first order ever)
        and month since (0: the first): ``customers`` in the cohort, ``active`` (those with
        an order in that month). Cohorts acquired in ``[since, until)``."""
        o = orders(self.dialect)
        profiles = sa.select(o.c.profile_id).where(*in_segment(o.c.profile_id, q))
        first = (
            sa.select(o.c.profile_id, sa.func.min(o.c.at).label("first_at"))
            .where(o.c.profile_id.in_(profiles))
            .group_by(o.c.profile_id)
            .subquery("acquired")
        )
        cohort = period(first.c.first_at, Period.month, self.dialect)
        offset = _month_index(o.c.at, self.dialect) - _month_index(first.c.first_at, self.dialect)
        active = (
            sa.select(
                cohort.label("cohort"),
                offset.label("month"),
                sa.func.count(sa.distinct(o.c.profile_id)).label("active"),
            )
            .join_from(o, first, first.c.profile_id == o.c.profile_id)
            .where(*within(first.c.first_at, q.since, q.until))
            .group_by(cohort, offset)
            .subquery("active")
        )
        size = (
            sa.select(cohort.label("cohort"), sa.func.count().label("customers"))
            .where(*within(first.c.first_at, q.since, q.until))
            .group_by(cohort)
            .subquery("size")
        )
        query = (
            sa.select(active.c.cohort, active.c.month, size.c.customers, active.c.active)
            .join_from(active, size, size.c.cohort == active.c.cohort)
            .order_by(active.c.cohort, active.c.month)
        )
        return self._rows(query)

    def stages(self, q: KpiQuery) -> list[Row]:
        """Live profiles per journey stage (``stage``, ``profiles``), as they stand now."""
        stage = sa.func.coalesce(_P.c.stage, "unknown").label("stage")
        query = (
            sa.select(stage, sa.func.count().label("profiles"))
            .where(_P.c.redirect_to.is_(None), *in_segment(_P.c.profile_id, q))
            .group_by(stage)
            .order_by(stage)
        )
        return self._rows(query)

    def stage_moves(self, q: KpiQuery) -> list[Row]:
        """Moves between stages per period (``Journey Stage Changed`` events): ``period``,
        ``from``, ``to``, ``profiles`` (distinct) and ``moves``."""
        body = Body(_E.c.body, self.dialect)
        key = period(_E.c.timestamp, q.period, self.dialect).label("period")
        source, target = body.text("properties", "from"), body.text("properties", "to")
        profile = live_profile()
        query = (
            sa.select(
                key,
                source.label("from"),
                target.label("to"),
                sa.func.count(sa.distinct(profile)).label("profiles"),
                sa.func.count().label("moves"),
            )
            .select_from(events_of_live())
            .where(
                _E.c.event == STAGE_CHANGED,
                *within(_E.c.timestamp, q.since, q.until),
                *in_segment(profile, q),
            )
            .group_by(key, source, target)
            .order_by(key, source, target)
        )
        return self._rows(query)


def _orders_in(q: KpiQuery, dialect: str) -> sa.Subquery:
    o = orders(dialect)
    return (
        sa.select(o)
        .where(*within(o.c.at, q.since, q.until), *in_segment(o.c.profile_id, q))
        .subquery("in_range")
    )


def _month_index(column: sa.ColumnElement[Any], dialect: str) -> sa.ColumnElement[int]:
    """Months since year 0 (for whole months between two times)."""
    if dialect == "sqlite":
        year = sa.cast(sa.func.strftime("%Y", column), sa.Integer)
        return year * 12 + sa.cast(sa.func.strftime("%m", column), sa.Integer)
    local = sa.func.timezone("UTC", column)
    return sa.cast(sa.extract("year", local) * 12 + sa.extract("month", local), sa.Integer)


def median_by(rows: sa.Subquery, column: str, name: str) -> sa.Select[Any]:
    """Per ``period`` of ``rows``: the count (``gaps``), mean and median of ``column``, as
    ``mean_<name>`` and ``median_<name>``, by ranks (SQLite has no percentile function)."""
    value = rows.c[column]
    rank = sa.func.row_number().over(partition_by=rows.c.period, order_by=value)
    size = sa.func.count().over(partition_by=rows.c.period)
    ranked = sa.select(
        rows.c.period, value.label("v"), rank.label("rank"), size.label("size")
    ).subquery("ranked")
    middle = sa.or_(
        ranked.c.rank == (ranked.c.size + 1) // 2,
        ranked.c.rank == (ranked.c.size + 2) // 2,
    )
    return sa.select(
        ranked.c.period,
        sa.func.max(ranked.c.size).label("gaps"),
        sa.func.avg(ranked.c.v).label(f"mean_{name}"),
        sa.func.avg(sa.case((middle, ranked.c.v), else_=None)).label(f"median_{name}"),
    ).group_by(ranked.c.period)
