"""Funnels and paths over the stored events, in SQL, set-based, on SQLite and PostgreSQL.

A **funnel** is an ordered list of steps (an event name, and properties it must carry). A
profile enters at its first event of the first step in ``[since, until)``; it reaches step
``k`` with its first event of that step after the moment it reached step ``k - 1`` and
within the window from entering. Each step is one CTE built on the one before.

A **path** follows each profile from its first ``start`` event in range: the client events
that came after it within the window, up to and including the first ``end`` event (when an
end is given), numbered 1, 2, ... (page, screen and identify calls by their type). The
engine's own events (signals, stage moves) are not what a customer did and are left out.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import sqlalchemy as sa

from juncture.core.events import as_utc
from juncture.core.profile.reducer import DERIVED_SOURCE
from juncture.store import tables
from juncture.store.kpi_sql import (
    Body,
    aliases,
    days_between,
    events_of_live,
    live_profile,
    soon_after,
    within,
)
from juncture.store.kpis import KpiQuery, Reads, Row, in_segment, median_by

_E: Final = tables.events
Value = str | int | float


@dataclass(frozen=True, slots=True)
class Step:
    """One funnel step: an event name and properties it must have (equal values)."""

    event: str
    where: Mapping[str, Value] = field(default_factory=dict)


class Funnels(Reads):
    """Funnel and path reads over one SQL store."""

    def funnel(self, steps: Sequence[Step], q: KpiQuery) -> list[Row]:
        """Per step (1 is the first): ``step``, ``profiles`` who reached it, and
        ``mean_days_from_previous``, ``median_days_from_previous`` (None at step 1)."""
        ctes = self._steps(steps, q)
        empty = {"profiles": 0, "mean_days_from_previous": None, "median_days_from_previous": None}
        rows = {k: {"step": k, **empty} for k in range(1, len(ctes) + 1)}
        with self._connect() as conn:  # a row per profile and step: their count is the step's
            for r in conn.execute(self._times(ctes)):
                rows[int(r.period)].update(
                    profiles=int(r.gaps),
                    mean_days_from_previous=r.mean_days_from_previous,
                    median_days_from_previous=r.median_days_from_previous,
                )
        return [rows[k] for k in sorted(rows)]

    def entries(self, step: Step, q: KpiQuery) -> tuple[dt.datetime | None, dt.datetime | None]:
        """The first and last time of an event of ``step`` in range (for per-period funnels)."""
        profile = live_profile()
        query = (
            sa.select(sa.func.min(_E.c.timestamp), sa.func.max(_E.c.timestamp))
            .select_from(events_of_live())
            .where(
                *self._matches(step),
                *within(_E.c.timestamp, q.since, q.until),
                *in_segment(profile, q),
            )
        )
        with self._connect() as conn:
            first, last = conn.execute(query).one()
        return as_utc(first) if first else None, as_utc(last) if last else None

    def _steps(self, steps: Sequence[Step], q: KpiQuery) -> list[sa.CTE]:
        profile = live_profile()
        first = (
            sa.select(
                profile.label("profile_id"),
                sa.func.min(_E.c.timestamp).label("first"),
                sa.func.min(_E.c.timestamp).label("prev"),
                sa.func.min(_E.c.timestamp).label("at"),
            )
            .select_from(events_of_live())
            .where(
                *self._matches(steps[0]),
                *within(_E.c.timestamp, q.since, q.until),
                *in_segment(profile, q),
            )
            .group_by(profile)
            .cte("step_1")
            .prefix_with("MATERIALIZED")
        )
        ctes = [first]
        for k, step in enumerate(steps[1:], start=2):
            before, done = ctes[-1], self._occurrences(step, k)
            reached = (
                sa.select(
                    before.c.profile_id,
                    before.c.first,
                    before.c.at.label("prev"),
                    sa.func.min(done.c.at).label("at"),
                )
                .join_from(before, done, done.c.profile_id == before.c.profile_id)
                .where(
                    done.c.at > before.c.at,
                    days_between(before.c.first, done.c.at, self.dialect) <= q.window_days,
                )
                .group_by(before.c.profile_id, before.c.first, before.c.at)
                .cte(f"step_{k}")
                .prefix_with("MATERIALIZED")
            )
            ctes.append(reached)
        return ctes

    def _occurrences(self, step: Step, k: int, *, client: bool = False) -> sa.CTE:
        """Every event of ``step`` (``profile_id`` it counts for, ``at``; only clients'
        with ``client``), read once through the event name's index: joined to the profiles
        of the step before, it is matched by profile rather than searched per profile."""
        found = [*self._matches(step)] + ([_E.c.source != DERIVED_SOURCE] if client else [])
        return (
            sa.select(live_profile().label("profile_id"), _E.c.timestamp.label("at"))
            .select_from(events_of_live())
            .where(*found)
            .cte(f"events_{k}")
            .prefix_with("MATERIALIZED")
        )

    def _matches(self, step: Step) -> list[sa.ColumnElement[bool]]:
        body = Body(_E.c.body, self.dialect)
        found: list[sa.ColumnElement[bool]] = [_E.c.event == step.event]
        for key, value in step.where.items():
            if isinstance(value, str):
                found.append(body.text("properties", key) == value)
            else:
                found.append(body.number("properties", key) == float(value))
        return found

    def _times(self, ctes: Sequence[sa.CTE]) -> sa.Select[Any]:
        """Per step, its profiles and the days from the step before: one statement, so each
        step is computed once (the first step has no days before it, only its count)."""
        spans = sa.union_all(
            *(
                sa.select(
                    sa.literal(k).label("period"),
                    days_between(c.c.prev, c.c.at, self.dialect).label("days")
                    if k > 1
                    else sa.cast(sa.null(), sa.Float).label("days"),
                ).select_from(c)
                for k, c in enumerate(ctes, start=1)
            )
        ).subquery("spans")
        return median_by(spans, "days", "days_from_previous")

    def paths(
        self, start: str, end: str | None, q: KpiQuery, max_steps: int
    ) -> tuple[int, list[Row]]:
        """The profiles that started, and each path's first ``max_steps`` events after the
        start (``steps``) with its ``profiles``, whether it ``reached`` the end and is
        ``longer`` than shown, most common first; profiles with no event after the start
        have no path here."""
        starts, numbered = self._numbered(start, end, q)
        columns = [
            sa.func.max(sa.case((numbered.c.k == k, numbered.c.event))).label(f"s{k}")
            for k in range(1, max_steps + 1)
        ]
        reached = sa.func.max(sa.case((numbered.c.last, 1), else_=0)).label("reached")
        longer = sa.case((sa.func.max(numbered.c.k) > max_steps, 1), else_=0).label("longer")
        each = sa.select(*columns, reached, longer).group_by(numbered.c.profile_id).subquery("each")
        keys = [each.c[f"s{k}"] for k in range(1, max_steps + 1)]
        paths = (
            sa.select(*keys, each.c.reached, each.c.longer, sa.func.count().label("profiles"))
            .group_by(*keys, each.c.reached, each.c.longer)
            .order_by(sa.func.count().desc(), *keys)
        )
        with self._connect() as conn:
            total = conn.execute(sa.select(sa.func.count()).select_from(starts)).scalar_one()
            found = [_path(r, max_steps) for r in conn.execute(paths)]
        return int(total), found

    def _numbered(self, start: str, end: str | None, q: KpiQuery) -> tuple[sa.CTE, sa.CTE]:
        profile = live_profile()
        starts = (
            sa.select(profile.label("profile_id"), sa.func.min(_E.c.timestamp).label("at"))
            .select_from(events_of_live())
            .where(
                _E.c.event == start,
                *within(_E.c.timestamp, q.since, q.until),
                *in_segment(profile, q),
            )
            .group_by(profile)
            .cte("starts")
            .prefix_with("MATERIALIZED")
        )
        after = sa.and_(
            _E.c.timestamp > starts.c.at,
            _E.c.source != DERIVED_SOURCE,
            days_between(starts.c.at, _E.c.timestamp, self.dialect) <= q.window_days,
        )
        name = sa.func.coalesce(_E.c.event, _E.c.type)
        ends = None if end is None else self._ends(starts, end, q)
        rank = sa.func.row_number().over(
            partition_by=starts.c.profile_id, order_by=(_E.c.timestamp, _E.c.seq)
        )
        joined = _through_aliases(starts)
        query = sa.select(starts.c.profile_id, name.label("event"), rank.label("k"))
        if ends is None:
            query = query.add_columns(sa.false().label("last"))
        else:
            joined = joined.outerjoin(ends, ends.c.profile_id == starts.c.profile_id)
            after = sa.and_(after, sa.or_(ends.c.at.is_(None), _E.c.timestamp <= ends.c.at))
            last = sa.and_(ends.c.at.is_not(None), _E.c.timestamp == ends.c.at)
            query = query.add_columns(sa.case((last, True), else_=False).label("last"))
        return starts, query.select_from(joined).where(after).cte("numbered")

    def _ends(self, starts: sa.CTE, end: str, q: KpiQuery) -> sa.Subquery:
        """Each started profile's first ``end`` event within the window after its start,
        from the ``end`` events read once through the event name's index (joined through
        every event of the started profiles, SQLite read the whole log for it)."""
        done = self._occurrences(Step(end), 0, client=True)
        return (
            sa.select(starts.c.profile_id, sa.func.min(done.c.at).label("at"))
            .join_from(starts, done, done.c.profile_id == starts.c.profile_id)
            .where(soon_after(starts.c.at, done.c.at, q.window_days, self.dialect))
            .group_by(starts.c.profile_id)
            .subquery("ends")
        )


def _through_aliases(found: sa.CTE) -> sa.Join:
    """``found`` (a set of live profiles, ``profile_id``) joined to the events of each and
    of the profiles merged into it, through the ``profile_id`` index."""
    a = aliases()
    return found.join(a, a.c.live == found.c.profile_id).join(_E, _E.c.profile_id == a.c.pid)


def _path(row: Any, max_steps: int) -> Row:
    steps = [row._mapping[f"s{k}"] for k in range(1, max_steps + 1)]
    return {
        "steps": [s for s in steps if s is not None],
        "reached": bool(row.reached),
        "longer": bool(row.longer),
        "profiles": int(row.profiles),
    }
