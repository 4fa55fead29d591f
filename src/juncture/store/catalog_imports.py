"""The last imports of the retailer's feeds, for the dashboard's Catalogue page: each
import's counts (rows read, new, changed, unchanged, retired, refused) and the first
:data:`PROBLEMS` problems of the rows it refused, with their line, column and reason.
Bounded: recording an import forgets all but the newest :data:`IMPORTS`."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Final

import sqlalchemy as sa

from juncture.core.events import as_utc
from juncture.definitions.feeds import Problem
from juncture.store.catalog import Repository
from juncture.store.catalog_tables import catalog_import_problems as _PR
from juncture.store.catalog_tables import catalog_imports as _I

IMPORTS: Final = 20  # imports kept
PROBLEMS: Final = 100  # problems kept of each import (the first)
COUNTS: Final = ("rows", "new", "changed", "unchanged", "retired", "refused_rows")


class CatalogImports(Repository):
    """The imports' journal over one store's engine."""

    def record(
        self, name: str, kind: str, fmt: str, *, full: bool, at: dt.datetime,
        counts: dict[str, int], problems: Sequence[Problem],
    ) -> None:  # fmt: skip
        """Keep an import that ended at ``at``, forgetting the oldest beyond :data:`IMPORTS`."""
        row = {"name": name, "kind": kind, "format": fmt, "full": full, "at": at,
               **{c: counts[c] for c in COUNTS}}  # fmt: skip
        with self._begin("recording a catalogue import") as conn:
            found = conn.execute(_I.insert().values(row).returning(_I.c.id)).scalar_one()
            kept = [
                {"import_id": found, "position": i, "line": p.line, "column": p.column,
                 "message": p.message}
                for i, p in enumerate(problems[:PROBLEMS])
            ]  # fmt: skip
            if kept:
                conn.execute(_PR.insert(), kept)
            newest = sa.select(_I.c.id).order_by(_I.c.id.desc()).limit(IMPORTS).subquery()
            old = sa.select(_I.c.id).where(_I.c.id.not_in(sa.select(newest.c.id)))
            conn.execute(_PR.delete().where(_PR.c.import_id.in_(old)))
            conn.execute(_I.delete().where(_I.c.id.in_(old)))

    def recent(self, limit: int = IMPORTS) -> list[dict[str, Any]]:
        """The newest imports first, each with its kept ``problems`` in order."""
        with self._begin("reading the catalogue imports") as conn:
            found = [dict(r._mapping) for r in conn.execute(
                sa.select(_I).order_by(_I.c.id.desc()).limit(limit))]  # fmt: skip
            ids = [r["id"] for r in found]
            problems = conn.execute(
                sa.select(_PR).where(_PR.c.import_id.in_(ids))
                .order_by(_PR.c.import_id, _PR.c.position)
            ).all()  # fmt: skip
        for row in found:
            row["at"] = as_utc(row["at"])
            row["problems"] = [
                {"line": p.line, "column": p.column, "message": p.message}
                for p in problems if p.import_id == row["id"]
            ]  # fmt: skip
        return found
