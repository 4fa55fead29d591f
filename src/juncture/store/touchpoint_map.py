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
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
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
_KIND_ORDER: Final = {"stage": 0, "event": 1, "message": 2}  # a move with its cause


@dataclass(frozen=True, slots=True)
class Touch:
    """One row of the stream: a touch (``event``, ``message``) or a ``stage`` move."""

    profile_id: str
    at: dt.datetime
    kind: str
    channel: str | None
    touchpoint: str | None
    journey_id: str | None
    node_id: str | None
    moved_from: str | None
    moved_to: str | None


class TouchpointMaps(Reads):
    """Touchpoint map reads over one SQL store."""

    def of_person(self, profile_id: str, q: KpiQuery) -> list[Row]:
        """The touches of the person ``profile_id`` lives on in, in time order and in
        ``[since, until)``; touches in a row alike (stage, kind, channel, touchpoint,
        journey, node) are one row with their ``count`` and ``last_at``."""
        a = aliases()
        live = sa.select(a.c.live).where(a.c.pid == profile_id).scalar_subquery()
        touches = _staged(self._stream(q, live), self._stages(live), q)
        out: list[Row] = []
        for key, run in groupby(touches, key=lambda st: (st[0], *_what(st[1]))):
            items = list(run)
            out.append(_person_row(key, items))
        return out

    def by_stage(self, q: KpiQuery) -> list[Row]:
        """Per stage, channel and touchpoint: ``profiles`` that met it in that stage,
        ``touches``, and ``first`` (profiles whose first touch in that stage it was), in
        stage order, most touched first."""
        profiles: Counter[tuple[str, ...]] = Counter()
        touches: Counter[tuple[str, ...]] = Counter()
        first: Counter[tuple[str, ...]] = Counter()
        staged = _staged(self._stream(q, None), self._stages(None), q)
        for _, rows in groupby(staged, key=lambda st: st[1].profile_id):
            seen: set[tuple[str, ...]] = set()
            previous: str | None = None
            for stage, touch in rows:
                key = (stage, touch.kind, touch.channel or "unknown", touch.touchpoint or "")
                touches[key] += 1
                if key not in seen:
                    seen.add(key)
                    profiles[key] += 1
                if stage != previous:
                    first[key] += 1
                previous = stage
        order = sorted(touches, key=lambda k: (STAGE_ORDER.get(k[0], 99), -touches[k], k))
        return [
            {"stage": k[0], "kind": k[1], "channel": k[2], "touchpoint": k[3],
             "profiles": profiles[k], "touches": touches[k], "first": first[k]}
            for k in order
        ]  # fmt: skip

    def _stages(self, live: Any) -> dict[str, str]:
        """Each live profile's stage now (for people who never moved)."""
        query = sa.select(_P.c.profile_id, _P.c.stage).where(_P.c.redirect_to.is_(None))
        if live is not None:
            query = query.where(_P.c.profile_id == live)
        with self._connect() as conn:
            return {str(p): str(s) for p, s in conn.execute(query) if s is not None}

    def _stream(self, q: KpiQuery, live: Any) -> Iterator[Touch]:
        """Touches and moves up to ``until``, by live profile and time."""
        a = aliases()
        body = Body(_E.c.body, self.dialect)
        channel = sa.func.coalesce(
            body.text("context", "channel"), body.text("channel"),
            sa.case((_E.c.type == "screen", sa.literal("app")), else_=None),
        )  # fmt: skip
        is_move = _E.c.event == STAGE_CHANGED
        kind = sa.case((is_move, sa.literal("stage")), else_=sa.literal("event"))
        touch = sa.and_(_E.c.source.not_in(NOT_PEOPLE), _E.c.type.not_in(NOT_TOUCHES))
        events = (
            sa.select(
                a.c.live.label("profile_id"),
                _E.c.timestamp.label("at"),
                kind.label("kind"),
                channel.label("channel"),
                sa.case((_E.c.type == "track", _E.c.event), else_=_E.c.type).label("touchpoint"),
                sa.null().label("journey_id"),
                sa.null().label("node_id"),
                body.text("properties", "from").label("moved_from"),
                body.text("properties", "to").label("moved_to"),
            )
            .select_from(_E.join(a, a.c.pid == _E.c.profile_id))
            .where(sa.or_(is_move, touch), *self._scope(a.c.live, _E.c.timestamp, q, live))
        )
        messages = (
            sa.select(
                a.c.live,
                sa.func.coalesce(_O.c.sent_at, _O.c.created_at),
                sa.literal("message"),
                _O.c.channel,
                sa.func.coalesce(_O.c.template, _O.c.channel),
                _O.c.journey_id,
                _O.c.node_id,
                sa.null(),
                sa.null(),
            )
            .select_from(_O.join(a, a.c.pid == _O.c.profile_id))
            .where(
                _O.c.status.in_(DELIVERED),
                *self._scope(a.c.live, sa.func.coalesce(_O.c.sent_at, _O.c.created_at), q, live),
            )
        )
        both = sa.union_all(events, messages).subquery("touches")
        query = sa.select(both).order_by(both.c.profile_id, both.c.at)
        with self._connect() as conn:
            rows = [Touch(*r) for r in conn.execute(query)]
        rows.sort(key=lambda t: (t.profile_id, t.at, _KIND_ORDER[t.kind]))
        yield from rows

    def _scope(self, profile: Any, at: Any, q: KpiQuery, live: Any) -> list[sa.ColumnElement[bool]]:
        found = [] if live is None else [profile == live]
        if q.until is not None:
            found.append(at < utc(q.until))
        return [*found, *in_segment(profile, q)]


def _staged(
    stream: Iterable[Touch], now: dict[str, str], q: KpiQuery
) -> Iterator[tuple[str, Touch]]:
    """Each touch in ``[since, until)`` with the stage its person stood in at it."""
    since = None if q.since is None else utc(q.since)
    for profile_id, rows in groupby(stream, key=lambda t: t.profile_id):
        items = list(rows)
        moves = [t for t in items if t.kind == "stage"]
        stage = (moves[0].moved_from if moves else None) or now.get(profile_id) or "awareness"
        for touch in items:
            if touch.kind == "stage":
                stage = touch.moved_to or stage
            elif since is None or _aware(touch.at) >= since:
                yield stage, touch


def _aware(at: dt.datetime) -> dt.datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)


def _what(touch: Touch) -> tuple[Any, ...]:
    return (touch.kind, touch.channel, touch.touchpoint, touch.journey_id, touch.node_id)


def _person_row(key: tuple[Any, ...], items: list[tuple[str, Touch]]) -> Row:
    stage, kind, channel, touchpoint, journey_id, node_id = key
    return {
        "at": _aware(items[0][1].at).isoformat(), "last_at": _aware(items[-1][1].at).isoformat(),
        "stage": stage, "kind": kind, "channel": channel or "unknown", "touchpoint": touchpoint,
        "journey_id": journey_id, "node_id": node_id, "count": len(items),
    }  # fmt: skip
