"""The rows journey measurement (:mod:`juncture.analytics.measure`) is computed from:
enrollments with the path each took (the split branches), where merged profiles went, and
the outbox's messages counted per journey, channel, status and reason. Orders come from
:mod:`juncture.store.customer_orders` (the live profiles' own lists).
"""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa

from juncture.core.events import as_utc
from juncture.store import failures, tables
from juncture.store.state_cache import stored_enrollment

_N: Final = tables.enrollments
_O: Final = tables.outbox
_P: Final = tables.profiles
SUPPRESSED: Final = "suppressed"


@dataclass(frozen=True, slots=True)
class Enrolled:
    """One enrollment: journey, version, profile (as enrolled), arm, entry, goal, and the
    path it took (``(node id, outcome)`` per step; a split's outcome is its branch name)."""

    journey_id: str
    version: int
    profile_id: str
    holdout: bool
    entered_at: dt.datetime
    goal_reached_at: dt.datetime | None
    history: tuple[tuple[str, str], ...]


@dataclass(frozen=True, slots=True)
class MessageCount:
    """Outbox rows of one journey (None: sent outside journeys) per channel, status and,
    for suppressed ones, reason."""

    journey_id: str | None
    channel: str
    status: str
    reason: str | None
    count: int


@dataclass(frozen=True, slots=True)
class MeasureRows:
    enrollments: list[Enrolled]
    redirects: dict[str, str]  # merged profile -> the profile it lives on in
    messages: list[MessageCount]


class JourneyMeasures:
    """Reads for journey measurement over one SQL store (``SqlStore.journey_measures``)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def _connect(self) -> AbstractContextManager[sa.Connection]:
        return failures.connection(self.engine)

    def rows(self, journey_id: str | None = None) -> MeasureRows:
        """Every enrollment (of ``journey_id``, when given), the merges and the message
        counts, on one connection."""
        with self._connect() as conn:
            return MeasureRows(
                _enrollments(conn, journey_id), _redirects(conn), _messages(conn, journey_id)
            )


def _enrollments(conn: sa.Connection, journey_id: str | None) -> list[Enrolled]:
    n = _N.c
    query = sa.select(
        n.journey_id, n.version, n.profile_id, n.holdout, n.entered_at, n.goal_reached_at, n.state
    ).order_by(n.entered_at, n.enrollment_id)
    if journey_id is not None:
        query = query.where(n.journey_id == journey_id)
    return [_enrolled(r) for r in conn.execute(query)]


def _enrolled(r: Any) -> Enrolled:
    reached = as_utc(r.goal_reached_at) if r.goal_reached_at else None
    history = tuple(stored_enrollment(r.state).history)
    return Enrolled(
        str(r.journey_id), int(r.version), str(r.profile_id), bool(r.holdout),
        as_utc(r.entered_at), reached, history,
    )  # fmt: skip


def _redirects(conn: sa.Connection) -> dict[str, str]:
    rows = conn.execute(
        sa.select(_P.c.profile_id, _P.c.redirect_to).where(_P.c.redirect_to.is_not(None))
    )
    return {str(a): str(b) for a, b in rows}


def _messages(conn: sa.Connection, journey_id: str | None) -> list[MessageCount]:
    # Only a suppression's reason is a category; a failure's is an error's text.
    reason = sa.case((_O.c.status == SUPPRESSED, _O.c.reason), else_=None)
    keys = (_O.c.journey_id, _O.c.channel, _O.c.status, reason)
    query = sa.select(*keys, sa.func.count()).group_by(*keys).order_by(*keys)
    if journey_id is not None:
        query = query.where(_O.c.journey_id == journey_id)
    return [
        MessageCount(j, str(channel), str(status), reason, int(n))
        for j, channel, status, reason, n in conn.execute(query)
    ]
