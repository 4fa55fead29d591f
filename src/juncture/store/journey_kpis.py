"""Journey KPIs in SQL, set-based, on SQLite and PostgreSQL: entries, goals and orders per
journey and arm, orders attributed to the last message before them, and messages per
journey, node and channel with what answered them (opens, clicks, unsubscribes).

*Last touch*: an order, or an ``Email Opened``, ``Email Link Clicked`` or ``Unsubscribed``
event, is credited to the latest message delivered (outbox ``sent``, or ``shown`` on site)
to the same profile at or before it and within the window; opens and clicks only to email.
An event that names its message (``email_id``: the outbox id, as Juncture's own open, click
and unsubscribe links record it) is credited to that message.
Profiles are followed to the profile they live on in (one hop of ``redirect_to``).
"""

from __future__ import annotations

from typing import Any, Final

import sqlalchemy as sa

from juncture.store import tables
from juncture.store.kpi_sql import (
    Body,
    days_between,
    events_of_live,
    live_profile,
    orders,
    period,
    soon_after,
    within,
)
from juncture.store.kpis import KpiQuery, Reads, Row, in_segment, plain, total

_E: Final = tables.events
_N: Final = tables.enrollments
_O: Final = tables.outbox
DELIVERED: Final = ("sent", "shown")
OPENED, CLICKED, UNSUBSCRIBED = "Email Opened", "Email Link Clicked", "Unsubscribed"
_STATUSES: Final = {
    "delivered": DELIVERED,
    "failed": ("dead",),
    "suppressed": ("suppressed",),
    "pending": ("pending", "deferred"),
}


class JourneyKpis(Reads):
    """Journey KPI reads over one SQL store."""

    def entries(self, q: KpiQuery) -> list[Row]:
        """Per journey, arm (``treatment`` or ``holdout``) and period of entry, counting each
        profile once from its first entry: ``profiles``, ``goal_reached``, ``converted``
        (an order within the window after entering), ``orders`` and ``revenue`` (those
        orders), ``revenue_squares`` (the sum of each profile's revenue squared)."""
        first = self._first_entries(q)
        o = orders(self.dialect)
        after = sa.and_(
            o.c.profile_id == first.c.profile_id,
            soon_after(first.c.entered_at, o.c.at, q.window_days, self.dialect),
        )
        keys = (first.c.journey_id, first.c.profile_id, first.c.holdout, first.c.entered_at)
        each = (
            sa.select(
                *keys,
                first.c.goal,
                sa.func.count(o.c.order_key).label("orders"),
                sa.func.coalesce(sa.func.sum(o.c.revenue), 0.0).label("revenue"),
            )
            .select_from(first.outerjoin(o, after))
            .group_by(*keys, first.c.goal)
            .subquery("each")
        )
        arm = sa.case((each.c.holdout, "holdout"), else_="treatment").label("arm")
        key = period(each.c.entered_at, q.period, self.dialect).label("period")
        query = (
            sa.select(
                each.c.journey_id, arm, key,
                sa.func.count().label("profiles"),
                total(each.c.goal).label("goal_reached"),
                total(sa.case((each.c.orders > 0, 1), else_=0)).label("converted"),
                total(each.c.orders).label("orders"),
                sa.func.sum(each.c.revenue).label("revenue"),
                sa.func.sum(each.c.revenue * each.c.revenue).label("revenue_squares"),
            )
            .group_by(each.c.journey_id, arm, key)
            .order_by(each.c.journey_id, key, arm)
        )  # fmt: skip
        return self._rows(query)

    def _first_entries(self, q: KpiQuery) -> sa.Subquery:
        moved = tables.profiles.alias("moved")
        live = sa.func.coalesce(moved.c.redirect_to, _N.c.profile_id)
        rank = sa.func.row_number().over(
            partition_by=(_N.c.journey_id, live), order_by=(_N.c.entered_at, _N.c.enrollment_id)
        )
        reached = sa.case((_N.c.goal_reached_at.is_not(None), 1), else_=0)
        ranked = (
            sa.select(
                _N.c.journey_id, live.label("profile_id"), _N.c.holdout, _N.c.entered_at,
                reached.label("goal"), rank.label("rank"),
            )
            .select_from(_N.outerjoin(moved, moved.c.profile_id == _N.c.profile_id))
            .where(*_journey(_N.c.journey_id, q), *in_segment(live, q))
            .subquery("ranked")
        )  # fmt: skip
        return (
            sa.select(ranked)
            .where(ranked.c.rank == 1, *within(ranked.c.entered_at, q.since, q.until))
            .subquery("first")
        )

    def attribution(self, q: KpiQuery) -> list[Row]:
        """Orders credited to the last message before them, per journey, node, channel and
        period of the order: ``orders``, ``revenue`` (``journey_id`` None: messages sent
        outside journeys)."""
        o = orders(self.dialect)
        placed = (
            sa.select(
                o.c.profile_id,
                o.c.at,
                o.c.revenue,
                o.c.order_key.label("target"),
                sa.null().label("named"),
            )
            .where(*within(o.c.at, q.since, q.until), *in_segment(o.c.profile_id, q))
            .cte("placed")
            .prefix_with("MATERIALIZED")
        )
        touch = self._last_touch(placed, q, email_only=sa.false())
        key = period(touch.c.at, q.period, self.dialect).label("period")
        dims = (touch.c.journey_id, touch.c.node_id, touch.c.channel)
        query = (
            sa.select(
                *dims, key,
                sa.func.count().label("orders"),
                sa.func.sum(touch.c.revenue).label("revenue"),
            )
            .where(*_journey(touch.c.journey_id, q))
            .group_by(*dims, key)
            .order_by(*dims, key)
        )  # fmt: skip
        return self._rows(query)

    def _last_touch(
        self, targets: sa.CTE, q: KpiQuery, email_only: sa.ColumnElement[bool]
    ) -> sa.Subquery:
        """Each row of ``targets`` (``profile_id``, ``at``, ``target``, ``named``: the outbox
        id it names, or NULL) with the message it is credited to (``message_id``,
        ``journey_id``, ``node_id``, ``channel``, ``created_at``): the one it names, else the
        last touch; rows with none are left out. ``email_only`` says, per target row, that
        only email counts by last touch."""
        m = _delivered()
        named = sa.cast(m.c.message_id, sa.String) == targets.c.named
        last = sa.and_(
            m.c.touched <= targets.c.at,
            days_between(m.c.touched, targets.c.at, self.dialect) <= q.window_days,
            sa.or_(sa.not_(email_only), m.c.channel == "email"),
        )
        first = sa.case((named, 0), else_=1)
        pairs = (
            sa.select(
                targets,
                m.c.message_id, m.c.journey_id, m.c.node_id, m.c.channel, m.c.created_at,
                sa.func.row_number()
                .over(partition_by=(targets.c.profile_id, targets.c.target),
                      order_by=(first, m.c.touched.desc(), m.c.message_id.desc()))
                .label("rank"),
            )
            .join_from(targets, m, m.c.profile_id == targets.c.profile_id)
            .where(sa.or_(sa.func.coalesce(named, False), last))
            .subquery("pairs")
        )  # fmt: skip
        return sa.select(pairs).where(pairs.c.rank == 1).subquery("touch")

    def positions(self, q: KpiQuery) -> list[Row]:
        """Where the enrollments entered in range stand: per journey, ``node``, ``status``
        (``active``, ``exited``) and ``exit_reason``, the ``enrollments``."""
        keys = (_N.c.journey_id, _N.c.node, _N.c.status, _N.c.exit_reason)
        query = (
            sa.select(*keys, sa.func.count().label("enrollments"))
            .where(*within(_N.c.entered_at, q.since, q.until), *_journey(_N.c.journey_id, q))
            .group_by(*keys)
            .order_by(*keys)
        )
        return self._rows(query)

    def messages(self, q: KpiQuery) -> list[Row]:
        """Per journey, node, channel and period of creation: ``messages`` (outbox rows),
        ``delivered``, ``failed``, ``suppressed``, ``pending``, ``suppressed_by_reason``
        (``{reason: n}``), ``profiles_delivered``, and what answered them by last touch:
        ``opened``, ``clicked`` (messages), ``unsubscribed`` (profiles)."""
        moved = tables.profiles.alias("moved")
        live = sa.func.coalesce(moved.c.redirect_to, _O.c.profile_id)
        key = period(_O.c.created_at, q.period, self.dialect).label("period")
        dims = (_O.c.journey_id, _O.c.node_id, _O.c.channel, key)
        counts = [
            total(sa.case((_O.c.status.in_(s), 1), else_=0)).label(n) for n, s in _STATUSES.items()
        ]
        delivered = sa.case((_O.c.status.in_(DELIVERED), live), else_=None)
        where = (
            *within(_O.c.created_at, q.since, q.until),
            *_journey(_O.c.journey_id, q),
            *in_segment(live, q),
        )
        joined = _O.outerjoin(moved, moved.c.profile_id == _O.c.profile_id)
        totals = (
            sa.select(*dims, sa.func.count().label("messages"), *counts,
                      sa.func.count(sa.distinct(delivered)).label("profiles_delivered"))
            .select_from(joined).where(*where).group_by(*dims).order_by(*dims)
        )  # fmt: skip
        reasons = (
            sa.select(*dims, _O.c.reason, sa.func.count())
            .select_from(joined)
            .where(*where, _O.c.status == "suppressed")
            .group_by(*dims, _O.c.reason)
        )
        with self._connect() as conn:
            rows = {
                _dims(r): {**plain(r), "suppressed_by_reason": {}} for r in conn.execute(totals)
            }
            for *d, reason, n in conn.execute(reasons):
                rows[tuple(d)]["suppressed_by_reason"][reason or "unknown"] = int(n)
            answers = {_dims(r): r._mapping for r in conn.execute(self._answers(q))}
        none = {"opened": 0, "clicked": 0, "unsubscribed": 0}
        return [{**row, **none, **_answered(answers.get(k))} for k, row in rows.items()]

    def _answers(self, q: KpiQuery) -> sa.Select[Any]:
        profile = live_profile()
        named = Body(_E.c.body, self.dialect).text("properties", "email_id")
        answers = (
            sa.select(
                profile.label("profile_id"), _E.c.timestamp.label("at"),
                _E.c.seq.label("target"), _E.c.event, named.label("named"),
            )
            .select_from(events_of_live())
            .where(_E.c.event.in_([OPENED, CLICKED, UNSUBSCRIBED]), *in_segment(profile, q))
            .cte("answers")
            .prefix_with("MATERIALIZED")
        )  # fmt: skip
        touch = self._last_touch(answers, q, email_only=answers.c.event != UNSUBSCRIBED)
        key = period(touch.c.created_at, q.period, self.dialect).label("period")
        dims = (touch.c.journey_id, touch.c.node_id, touch.c.channel, key)

        def distinct(event: str, column: sa.ColumnElement[Any]) -> sa.ColumnElement[int]:
            return sa.func.count(sa.distinct(sa.case((touch.c.event == event, column))))

        return (
            sa.select(
                *dims,
                distinct(OPENED, touch.c.message_id).label("opened"),
                distinct(CLICKED, touch.c.message_id).label("clicked"),
                distinct(UNSUBSCRIBED, touch.c.profile_id).label("unsubscribed"),
            )
            .where(*within(touch.c.created_at, q.since, q.until), *_journey(touch.c.journey_id, q))
            .group_by(*dims)
        )


def _delivered() -> sa.CTE:
    """The messages delivered, each with the live profile it went to (``profile_id``) and
    when (``touched``: sent, else created), materialized once: joined by profile to what
    answered them, both sides are read once (SQLite indexes the materialized set)."""
    moved = tables.profiles.alias("delivered_to")
    return (
        sa.select(
            sa.func.coalesce(moved.c.redirect_to, _O.c.profile_id).label("profile_id"),
            _O.c.id.label("message_id"), _O.c.journey_id, _O.c.node_id, _O.c.channel,
            _O.c.created_at, sa.func.coalesce(_O.c.sent_at, _O.c.created_at).label("touched"),
        )
        .select_from(_O.outerjoin(moved, moved.c.profile_id == _O.c.profile_id))
        .where(_O.c.status.in_(DELIVERED))
        .cte("delivered")
        .prefix_with("MATERIALIZED")
    )  # fmt: skip


def _journey(column: sa.ColumnElement[Any], q: KpiQuery) -> list[sa.ColumnElement[bool]]:
    return [] if q.journey is None else [column == q.journey]


def _dims(row: Any) -> tuple[Any, ...]:
    return (row.journey_id, row.node_id, row.channel, row.period)


def _answered(row: Any) -> dict[str, int]:
    if row is None:
        return {}
    return {k: int(row[k]) for k in ("opened", "clicked", "unsubscribed")}
