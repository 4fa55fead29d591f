"""Reads for the dashboard (``/app``) that no other repository answers: messages by channel
and status over a period, the stage funnel, one customer's messages and journeys, and the
health of the retailer's tables (activity over time is :mod:`juncture.store.activity`'s).

Counts and sums are grouped in SQL, one query per figure, so a page costs a handful of
index or table scans whatever the number of events; nothing here reads personal data except
:meth:`DashboardReads.messages_of` and :meth:`DashboardReads.enrollments_of`, which read one
customer's rows for the Customer 360 page.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa

from juncture.core.events import Event, as_utc, from_row
from juncture.core.journeys.spec import SEGMENT_ENTERED, SEGMENT_EXITED
from juncture.core.measures import Period
from juncture.core.profile.reducer import DERIVED_SOURCE
from juncture.store import catalog_tables, failures, kpi_sql, outbox, tables
from juncture.store.outbox import OutboxRow

ONSITE: Final = "onsite"  # the channel of on-site answers (juncture.core.channels)
STAGES: Final = ("awareness", "consideration", "decision", "loyalty")
_E: Final = tables.events
_O: Final = tables.outbox
_CATALOGUE: Final = {
    "products": catalog_tables.products,
    "stock": catalog_tables.stock,
    "locations": catalog_tables.locations,
}


@dataclass(frozen=True, slots=True)
class MessageRow:
    """One message of a customer's: when, where it went, and what became of it."""

    id: int
    created_at: dt.datetime
    channel: str
    journey_id: str | None
    node_id: str | None
    template: str | None
    status: str
    reason: str | None


@dataclass(frozen=True, slots=True)
class Standing:
    """Where a customer stands in one journey."""

    journey_id: str
    version: int
    status: str
    node: str | None
    exit_reason: str | None
    holdout: bool
    entered_at: dt.datetime
    goal_reached: bool


class DashboardReads:
    """The dashboard's own read queries over one SQL store (``SqlStore.dashboard``)."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def _connect(self) -> AbstractContextManager[sa.Connection]:
        return failures.connection(self._engine)

    def newest_event(self) -> dt.datetime | None:
        """When the last event a client sent into the log was received (None: none yet); the
        engine's own events are left out, as a batch re-evaluation stamps them with its own
        time."""
        query = (  # the last in the log: read backwards along the key, not a scan
            sa.select(_E.c.received_at)
            .where(_E.c.source != DERIVED_SOURCE)
            .order_by(_E.c.seq.desc())
            .limit(1)
        )
        with self._connect() as conn:
            found = conn.execute(query).scalar()
        return _utc(found)

    def messages(self, since: dt.datetime, until: dt.datetime) -> list[tuple[str, str, int]]:
        """Messages created in [since, until) as (channel, status, count)."""
        query = (
            sa.select(_O.c.channel, _O.c.status, sa.func.count())
            .where(_O.c.created_at >= since, _O.c.created_at < until)
            .group_by(_O.c.channel, _O.c.status)
            .order_by(_O.c.channel, _O.c.status)
        )
        with self._connect() as conn:
            return [(str(c), str(s), int(n)) for c, s, n in conn.execute(query)]

    def stages(self) -> list[tuple[str, int]]:
        """Live profiles per journey stage, in funnel order (stages with none count 0)."""
        p = tables.profiles
        query = (
            sa.select(p.c.stage, sa.func.count())
            .where(p.c.redirect_to.is_(None), p.c.stage.is_not(None))
            .group_by(p.c.stage)
        )
        with self._connect() as conn:
            found = {str(s): int(n) for s, n in conn.execute(query)}
        return [(s, found.get(s, 0)) for s in STAGES]

    def segment_moves(
        self, segment_id: str, since: dt.datetime, until: dt.datetime
    ) -> list[tuple[str, int, int]]:
        """Per day (``YYYY-MM-DD``) of [since, until) that had any, the profiles that entered
        and exited ``segment_id`` as they happened (the engine's ``Segment Entered`` and
        ``Segment Exited`` signals, read through the index on event name and time)."""
        dialect = self._engine.dialect.name
        day = kpi_sql.period(_E.c.timestamp, Period.day, dialect)
        entered = sa.func.sum(sa.case((_E.c.event == SEGMENT_ENTERED, 1), else_=0))
        query = (
            sa.select(day, entered, sa.func.count() - entered)
            .where(
                _E.c.event.in_([SEGMENT_ENTERED, SEGMENT_EXITED]),
                _E.c.timestamp >= since,
                _E.c.timestamp < until,
                _E.c.source == DERIVED_SOURCE,
                kpi_sql.Body(_E.c.body, dialect).text("properties", "segment_id") == segment_id,
            )
            .group_by(day)
            .order_by(day)
        )
        with self._connect() as conn:
            return [(str(d), int(i), int(o)) for d, i, o in conn.execute(query)]

    def quarantined(self, since: dt.datetime, until: dt.datetime) -> int:
        """Messages refused into the quarantine in [since, until)."""
        f = tables.failed_events
        query = sa.select(sa.func.count()).where(f.c.received_at >= since, f.c.received_at < until)
        with self._connect() as conn:
            return int(conn.execute(query).scalar_one())

    def messages_of(self, profile_ids: Sequence[str], limit: int = 200) -> list[MessageRow]:
        """One customer's messages (under any of its merged ids), newest first."""
        query = (
            sa.select(
                _O.c.id,
                _O.c.created_at,
                _O.c.channel,
                _O.c.journey_id,
                _O.c.node_id,
                _O.c.template,
                _O.c.status,
                _O.c.reason,
            )
            .where(_O.c.profile_id.in_(list(profile_ids)))
            .order_by(_O.c.created_at.desc(), _O.c.id.desc())
            .limit(limit)
        )
        with self._connect() as conn:
            return [MessageRow(*r[:1], as_utc(r[1]), *r[2:]) for r in conn.execute(query)]

    def enrollments_of(self, profile_ids: Sequence[str]) -> list[Standing]:
        """Where one customer stands in each journey it entered, newest entry first."""
        e = tables.enrollments
        query = (
            sa.select(
                e.c.journey_id,
                e.c.version,
                e.c.status,
                e.c.node,
                e.c.exit_reason,
                e.c.holdout,
                e.c.entered_at,
                e.c.goal_reached_at.is_not(None),
            )
            .where(e.c.profile_id.in_(list(profile_ids)))
            .order_by(e.c.entered_at.desc())
        )
        with self._connect() as conn:
            return [
                Standing(r[0], r[1], r[2], r[3], r[4], bool(r[5]), as_utc(r[6]), bool(r[7]))
                for r in conn.execute(query)
            ]

    def segments_of(self, profile_ids: Sequence[str]) -> list[tuple[str, dt.datetime]]:
        """The stored segments one customer is a member of, with since when."""
        m = tables.segment_members
        query = (
            sa.select(m.c.segment_id, sa.func.min(m.c.since))
            .where(m.c.profile_id.in_(list(profile_ids)))
            .group_by(m.c.segment_id)
            .order_by(m.c.segment_id)
        )
        with self._connect() as conn:
            return [(str(s), as_utc(at)) for s, at in conn.execute(query)]

    def events_of(
        self, profile_ids: Sequence[str], limit: int = 200, names: Sequence[str] = ()
    ) -> list[Event]:
        """One customer's events (its own and the engine's), newest first; only those named
        ``names`` when given."""
        query = (
            sa.select(_E)
            .where(_E.c.profile_id.in_(list(profile_ids)))
            .order_by(_E.c.seq.desc())
            .limit(limit)
        )
        if names:
            # Not the index on event: it would read that event of every customer; this one
            # customer's rows through (profile_id, seq) are few.
            query = query.where(sa.func.coalesce(_E.c.event, "").in_(list(names)))
        with self._connect() as conn:
            return [from_row(**row._mapping) for row in conn.execute(query)]

    def recent_customers(self, limit: int = 25) -> list[dict[str, Any]]:
        """The live profiles seen most recently: id, email, stage, last seen, orders."""
        p = tables.profiles
        query = (
            sa.select(
                p.c.profile_id,
                p.c.email,
                p.c.stage,
                p.c.last_seen,
                p.c.order_count,
                p.c.revenue,
            )
            .where(p.c.redirect_to.is_(None), p.c.last_seen.is_not(None))
            .order_by(p.c.last_seen.desc(), p.c.profile_id)
            .limit(limit)
        )
        with self._connect() as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def deliveries(self, status: str | None = None, limit: int = 100) -> list[OutboxRow]:
        """The newest messages of the outbox (of one ``status``), newest first."""
        query = sa.select(_O).order_by(_O.c.id.desc()).limit(limit)
        if status is not None:
            query = query.where(_O.c.status == status)
        with self._connect() as conn:
            return [outbox.row_of(r._mapping) for r in conn.execute(query)]

    def touchpoints(self) -> list[tuple[str, str, int]]:
        """On-site answers by template (the touchpoint or placement kind) and status: how
        often each was shown, held back or suppressed (and why, in the status' reason)."""
        query = (
            sa.select(_O.c.template, _O.c.status, sa.func.count())
            .where(_O.c.channel == ONSITE)
            .group_by(_O.c.template, _O.c.status)
            .order_by(_O.c.template, _O.c.status)
        )
        with self._connect() as conn:
            return [(str(t or "-"), str(s), int(n)) for t, s, n in conn.execute(query)]

    def catalogue(self) -> dict[str, Any]:
        """The retailer's tables: rows per table, when each last changed, recent changes."""
        out: dict[str, Any] = {}
        with self._connect() as conn:
            for name, table in _CATALOGUE.items():
                newest = sa.func.max(table.c.updated_at)
                rows, at = conn.execute(sa.select(sa.func.count(), newest)).one()
                out[name] = {"rows": int(rows), "updated": _utc(at)}
            c = catalog_tables.catalog_changes
            recent = sa.select(c).order_by(c.c.id.desc()).limit(20)
            out["changes"] = [dict(r._mapping) for r in conn.execute(recent)]
        return out


def _utc(value: Any) -> dt.datetime | None:
    return as_utc(value) if value is not None else None
