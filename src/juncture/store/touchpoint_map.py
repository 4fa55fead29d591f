"""The touchpoint map: every channel and touchpoint a customer met, in time order, with the
journey stage they stood in at the time; and the same over all customers, per stage.

A touch is one of the person's own events (a track call by its name, a page or screen call
by its type; identify, group and alias calls, the engine's derived events and the
catalogue's changes told to shoppers are not touches), on the channel its
``context.channel`` (or RudderStack's top-level ``channel``) names, ``app`` for a screen
call without one, else ``unknown``; or a message delivered to them (an outbox row sent, or
shown on site: a journey's message or an on-site answer), on its channel, the touchpoint
being its template. The stage is the one the engine's ``Journey Stage Changed`` events say
the person stood in just after the touch (a product view that moves them into consideration
counts there); before their first move, the stage that move left, and without any, the
stage they stand in now. Events count for the profile they live on in now, as the KPI
reports count them.
"""

from __future__ import annotations

import datetime as dt
from itertools import groupby
from typing import Any, Final

import sqlalchemy as sa

from juncture.core.profile.reducer import DERIVED_SOURCE
from juncture.core.stage import STAGE_CHANGED, Stage
from juncture.store import tables
from juncture.store.kpi_sql import Body, aliases, utc
from juncture.store.kpis import KpiQuery, Reads, Row, in_segment

_E: Final = tables.events
_O: Final = tables.outbox
_P: Final = tables.profiles
NOT_TOUCHES: Final = ("identify", "group", "alias")
# Sources whose events nobody did: the engine's derived events and the catalogue's changes
# told to the shoppers who care (runtime.catalog_events.SOURCE; a test keeps them equal).
NOT_PEOPLE: Final = (DERIVED_SOURCE, "catalog")
DELIVERED: Final = ("sent", "shown")
STAGE_ORDER: Final = {stage.value: i for i, stage in enumerate(Stage)}


class TouchpointMaps(Reads):
    """Touchpoint map reads over one SQL store, computed in the database (window functions
    over each person's touches in time order; SQLite 3.25 or later, PostgreSQL)."""

    def of_person(self, profile_id: str, q: KpiQuery) -> list[Row]:
        """The touches of the person ``profile_id`` lives on in, in time order and in
        ``[since, until)``; touches in a row alike (stage, kind, channel, touchpoint,
        journey, node) are one row with their ``count`` and ``last_at``."""
        a = aliases()
        live = sa.select(a.c.live).where(a.c.pid == profile_id).scalar_subquery()
        t = self._staged(q, live)
        query = sa.select(
            t.c.stage, t.c.kind, t.c.channel, t.c.touchpoint, t.c.journey_id, t.c.node_id, t.c.at
        ).order_by(*_order(t))
        with self._connect() as conn:
            rows = list(conn.execute(query))
        return [_person_row(key, list(run)) for key, run in groupby(rows, key=lambda r: r[:6])]

    def by_stage(self, q: KpiQuery) -> list[Row]:
        """Per stage, channel and touchpoint: ``profiles`` that met it in that stage,
        ``touches``, and ``first`` (profiles whose first touch in that stage it was), in
        stage order, most touched first."""
        t = self._staged(q, None)
        before = sa.func.lag(t.c.stage).over(partition_by=t.c.profile_id, order_by=_order(t))
        first = sa.case((sa.or_(before.is_(None), before != t.c.stage), 1), else_=0)
        marked = sa.select(t, first.label("first")).subquery("marked")
        key = (
            marked.c.stage, marked.c.kind, sa.func.coalesce(marked.c.channel, "unknown"),
            sa.func.coalesce(marked.c.touchpoint, ""),
        )  # fmt: skip
        query = sa.select(
            *key,
            sa.func.count(sa.distinct(marked.c.profile_id)),
            sa.func.count(),
            sa.func.sum(marked.c.first),
        ).group_by(*key)
        with self._connect() as conn:
            found = [tuple(r) for r in conn.execute(query)]
        found.sort(key=lambda r: (STAGE_ORDER.get(r[0], 99), -r[5], r[:4]))
        return [
            {"stage": s, "kind": k, "channel": c, "touchpoint": tp,
             "profiles": int(p), "touches": int(n), "first": int(f)}
            for s, k, c, tp, p, n, f in found
        ]  # fmt: skip

    def _staged(self, q: KpiQuery, live: Any) -> sa.Subquery:
        """Each touch in ``[since, until)`` with the stage its person stood in at it: the
        ``to`` of the last move at or before it (a move sorts before a touch of its time),
        before any, the ``from`` of the person's first move, else their stage now, else
        awareness. Moves are few beside touches: each touch finds its stage among its
        person's moves, and only the touches are read in order. Columns: ``profile_id``,
        ``at``, ``rank`` (the kind's order), ``kind``, ``channel``, ``touchpoint``,
        ``journey_id``, ``node_id``, ``stage``."""
        t, m = self._touches(q, live), self._moves(q, live)
        to, person = sa.func.nullif(m.c.moved_to, ""), m.c.profile_id
        in_order = (m.c.at, sa.func.coalesce(m.c.moved_to, ""))
        stays = (
            sa.select(person, m.c.at.label("start"), to.label("stage"),
                      sa.func.lead(m.c.at).over(partition_by=person, order_by=in_order)
                      .label("until"))
            .where(to.is_not(None))
            .subquery("stays")
        )  # fmt: skip
        numbered = sa.select(
            person, sa.func.nullif(m.c.moved_from, "").label("moved_from"),
            sa.func.row_number().over(partition_by=person, order_by=in_order).label("n"),
        ).subquery("numbered")  # fmt: skip
        before = sa.select(numbered).where(numbered.c.n == 1).subquery("before")
        stay = sa.and_(
            stays.c.profile_id == t.c.profile_id, stays.c.start <= t.c.at,
            sa.or_(stays.c.until.is_(None), t.c.at < stays.c.until),
        )  # fmt: skip
        stage = sa.func.coalesce(
            stays.c.stage, before.c.moved_from, sa.func.nullif(t.c.now, ""), "awareness"
        )
        touches = sa.select(*(t.c[c] for c in _COLUMNS), stage.label("stage")).select_from(
            t.outerjoin(stays, stay).outerjoin(before, before.c.profile_id == t.c.profile_id)
        )
        if q.since is not None:
            touches = touches.where(t.c.at >= utc(q.since))
        return touches.subquery("touched")

    def _touches(self, q: KpiQuery, live: Any) -> sa.Subquery:
        """The person's own events and the messages delivered to them up to ``until``, of
        every live profile (or of ``live``)."""
        touch = sa.and_(
            _E.c.source.not_in(NOT_PEOPLE), _E.c.type.not_in(NOT_TOUCHES),
            sa.or_(_E.c.event.is_(None), _E.c.event != STAGE_CHANGED),
        )  # fmt: skip
        a = aliases()
        at = sa.func.coalesce(_O.c.sent_at, _O.c.created_at)
        messages = (
            sa.select(
                a.c.live,
                at,
                sa.literal(2),
                sa.literal("message"),
                _O.c.channel,
                sa.func.coalesce(_O.c.template, _O.c.channel),
                _O.c.journey_id,
                _O.c.node_id,
                sa.null(),
                sa.null(),
                _stage_now(a.c.live),
            )
            .select_from(_O.join(a, a.c.pid == _O.c.profile_id))
            .where(_O.c.status.in_(DELIVERED), *self._scope(a.c.live, at, q, live))
        )
        return sa.union_all(self._events(touch, q, live), messages).subquery("touches")

    def _moves(self, q: KpiQuery, live: Any) -> sa.Subquery:
        """The engine's ``Journey Stage Changed`` events up to ``until``, as :meth:`_touches`
        reads events (``moved_from``, ``moved_to`` set)."""
        return self._events(_E.c.event == STAGE_CHANGED, q, live).subquery("moves")

    def _events(self, which: Any, q: KpiQuery, live: Any) -> sa.Select[Any]:
        # each event's live profile from its profile's row: the moves are found by name
        # (the index on event), the touches by reading the log once
        person = sa.func.coalesce(_P.c.redirect_to, _P.c.profile_id)
        body = Body(_E.c.body, self.dialect)
        channel = sa.func.coalesce(
            body.text("context", "channel"), body.text("channel"),
            sa.case((_E.c.type == "screen", sa.literal("app")), else_=None),
        )  # fmt: skip
        is_move = _E.c.event == STAGE_CHANGED
        return (
            sa.select(
                person.label("profile_id"),
                _E.c.timestamp.label("at"),
                sa.case((is_move, 0), else_=1).label("rank"),
                sa.case((is_move, sa.literal("stage")), else_=sa.literal("event")).label("kind"),
                channel.label("channel"),
                sa.case((_E.c.type == "track", _E.c.event), else_=_E.c.type).label("touchpoint"),
                sa.null().label("journey_id"),
                sa.null().label("node_id"),
                body.text("properties", "from").label("moved_from"),
                body.text("properties", "to").label("moved_to"),
                # the stage now of the profile the event lives on in: its own row's, read
                # with it, or (merged) the survivor's
                sa.case(
                    (_P.c.redirect_to.is_(None), _P.c.stage), else_=_stage_now(_P.c.redirect_to)
                ).label("now"),
            )
            .select_from(_E.join(_P, _P.c.profile_id == _E.c.profile_id))
            .where(which, *self._scope(person, _E.c.timestamp, q, live))
        )

    def _scope(self, profile: Any, at: Any, q: KpiQuery, live: Any) -> list[sa.ColumnElement[bool]]:
        found = [] if live is None else [profile == live]
        if q.until is not None:
            found.append(at < utc(q.until))
        return [*found, *in_segment(profile, q)]


_COLUMNS: Final = (
    "profile_id", "at", "rank", "kind", "channel", "touchpoint", "journey_id", "node_id",
)  # fmt: skip


def _stage_now(profile: Any) -> sa.ScalarSelect[Any]:
    """The stage ``profile`` stands in now, if it is a live profile."""
    n = _P.alias("now")
    return (
        sa.select(n.c.stage)
        .where(n.c.profile_id == profile, n.c.redirect_to.is_(None))
        .scalar_subquery()
    )


def _order(t: Any) -> tuple[sa.ColumnElement[Any], ...]:
    """A person's touches in time order, a move before the touches of its time, the rest of
    a tie in a fixed order."""
    rest = (t.c.channel, t.c.touchpoint, t.c.journey_id, t.c.node_id)
    return (t.c.at, t.c.rank, *(sa.func.coalesce(c, "") for c in rest))


def _aware(at: dt.datetime) -> dt.datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)


def _person_row(key: tuple[Any, ...], items: list[Any]) -> Row:
    stage, kind, channel, touchpoint, journey_id, node_id = key
    return {
        "at": _aware(items[0][6]).isoformat(), "last_at": _aware(items[-1][6]).isoformat(),
        "stage": stage, "kind": kind, "channel": channel or "unknown", "touchpoint": touchpoint,
        "journey_id": journey_id, "node_id": node_id, "count": len(items),
    }  # fmt: skip
