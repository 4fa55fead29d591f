"""The rows the journey report (:mod:`juncture.analytics.journeys`) is computed from: merges,
orders, outbox counts and enrollments, read on one connection, as plain data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

import sqlalchemy as sa

from juncture.core.events import as_utc
from juncture.store import tables

ORDER: Final = "Order Completed"
SUPPRESSED: Final = "suppressed"


@dataclass(frozen=True, slots=True)
class Order:
    """A stored ``Order Completed`` of a profile: its event time and body (JSON text)."""

    profile_id: str
    at: dt.datetime
    body: str


@dataclass(frozen=True, slots=True)
class Entry:
    """One enrollment: its journey, its arm and when its profile entered."""

    journey_id: str
    holdout: bool
    profile_id: str
    entered_at: dt.datetime


Counts = list[tuple[str | None, int]]


@dataclass(frozen=True, slots=True)
class ReportRows:
    """``redirects``: merged profile -> the profile it was merged into. ``sent_by_channel``
    and ``suppressed_by_reason``: outbox rows not suppressed per channel, and suppressed
    per reason. ``entries``: every enrollment; ``entered``: their count per journey and
    arm (``holdout``). Lists are in the order the database gave them."""

    redirects: dict[str, str]
    orders: list[Order]
    sent_by_channel: Counts
    suppressed_by_reason: Counts
    entries: list[Entry]
    entered: list[tuple[str, bool, int]]


def read(engine: sa.Engine) -> ReportRows:
    """Every row the report needs, on one connection."""
    with engine.connect() as conn:
        return ReportRows(
            redirects=_redirects(conn),
            orders=_orders(conn),
            sent_by_channel=_outbox_counts(conn, "channel", sent=True),
            suppressed_by_reason=_outbox_counts(conn, "reason", sent=False),
            entries=_entries(conn),
            entered=_entered(conn),
        )


def _redirects(conn: sa.Connection) -> dict[str, str]:
    p = tables.profiles
    rows = conn.execute(sa.select(p.c.profile_id, p.c.redirect_to).where(p.c.redirect_to != None))  # noqa: E711
    return {str(a): str(b) for a, b in rows}


def _orders(conn: sa.Connection) -> list[Order]:
    e = tables.events
    query = sa.select(e.c.profile_id, e.c.timestamp, e.c.body).where(
        e.c.event == ORDER,
        e.c.profile_id != None,  # noqa: E711
    )
    return [Order(pid, as_utc(at), body) for pid, at, body in conn.execute(query)]


def _outbox_counts(conn: sa.Connection, column: str, *, sent: bool) -> Counts:
    o = tables.outbox
    key = o.c[column]
    status = o.c.status != SUPPRESSED if sent else o.c.status == SUPPRESSED
    journeys = o.c.journey_id.is_not(None)  # not what on-site placements showed by rule
    query = sa.select(key, sa.func.count()).where(status, journeys).group_by(key)
    return [(k, int(v)) for k, v in conn.execute(query)]


def _entered(conn: sa.Connection) -> list[tuple[str, bool, int]]:
    n = tables.enrollments
    query = sa.select(n.c.journey_id, n.c.holdout, sa.func.count()).group_by(
        n.c.journey_id, n.c.holdout
    )
    return [
        (str(journey), bool(holdout), int(count)) for journey, holdout, count in conn.execute(query)
    ]


def _entries(conn: sa.Connection) -> list[Entry]:
    n = tables.enrollments
    query = sa.select(n.c.journey_id, n.c.holdout, n.c.profile_id, n.c.entered_at)
    return [
        Entry(journey, bool(holdout), pid, as_utc(entered))
        for journey, holdout, pid, entered in conn.execute(query)
    ]
