"""Tracking plans as stored, and the data-quality tallies added up into a report."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from juncture.core.events import as_utc
from juncture.store import failures
from juncture.store.quality_tables import quality_tallies, tracking_plans

_P: Final = tracking_plans
_T: Final = quality_tallies
COUNTS: Final = tuple(
    c.name for c in quality_tallies.c if c.name not in ("source", "hour", "event")
)


@dataclass(frozen=True, slots=True)
class StoredPlan:
    source: str
    filename: str
    text: str
    updated_at: dt.datetime


class QualityStore:
    """Plans by source, and tallies: added to (``add``) and summed (``sums``)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    # --- plans -----------------------------------------------------------------------------
    def plans(self) -> list[StoredPlan]:
        with failures.connection(self.engine) as conn:
            rows = conn.execute(sa.select(_P).order_by(_P.c.source)).all()
        return [StoredPlan(r.source, r.filename, r.text, as_utc(r.updated_at)) for r in rows]

    def plan(self, source: str) -> StoredPlan | None:
        return next((p for p in self.plans() if p.source == source), None)

    def put_plan(self, source: str, filename: str, text: str, at: dt.datetime) -> None:
        row = {"source": source, "filename": filename, "text": text, "updated_at": at}
        with failures.transaction(self.engine, "save a tracking plan") as conn:
            stmt = _insert(conn, _P).values(row)
            update = {k: stmt.excluded[k] for k in ("filename", "text", "updated_at")}
            conn.execute(stmt.on_conflict_do_update(index_elements=["source"], set_=update))

    def delete_plan(self, source: str) -> bool:
        with failures.transaction(self.engine, "delete a tracking plan") as conn:
            return conn.execute(sa.delete(_P).where(_P.c.source == source)).rowcount > 0

    # --- tallies ---------------------------------------------------------------------------
    def add(self, rows: Sequence[Mapping[str, object]]) -> None:
        """Adds each row's counts to its (source, hour, event), the largest skew kept."""
        if not rows:
            return
        with failures.transaction(self.engine, "add data-quality tallies") as conn:
            stmt = _insert(conn, _T)
            greatest = sa.func.greatest if conn.dialect.name == "postgresql" else sa.func.max
            update = {c: _T.c[c] + stmt.excluded[c] for c in COUNTS if c != "skew_max_ms"}
            update["skew_max_ms"] = greatest(_T.c.skew_max_ms, stmt.excluded.skew_max_ms)
            keys = ["source", "hour", "event"]
            conn.execute(stmt.on_conflict_do_update(index_elements=keys, set_=update), rows)

    def sums(
        self, source: str, since: dt.datetime, until: dt.datetime
    ) -> dict[str, dict[str, int]]:
        """The counts of ``source`` received in ``[since, until)``, by event (``''``: the
        source as a whole)."""
        columns = [
            sa.func.max(_T.c[c]) if c == "skew_max_ms" else sa.func.sum(_T.c[c]) for c in COUNTS
        ]
        query = (
            sa.select(_T.c.event, *columns)
            .where(_T.c.source == source, _T.c.hour >= since, _T.c.hour < until)
            .group_by(_T.c.event)
            .order_by(_T.c.event)
        )
        with failures.connection(self.engine) as conn:
            found = conn.execute(query).all()
        return {
            row[0]: {c: int(v or 0) for c, v in zip(COUNTS, row[1:], strict=True)} for row in found
        }

    def sources(self) -> list[str]:
        query = sa.select(_T.c.source).distinct().order_by(_T.c.source)
        with failures.connection(self.engine) as conn:
            return list(conn.execute(query).scalars())


def _insert(conn: sa.Connection, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
    return postgresql.insert(table) if conn.dialect.name == "postgresql" else sqlite.insert(table)
