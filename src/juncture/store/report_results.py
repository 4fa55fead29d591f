"""The last result of each slow dashboard read (``report_results``), shared by every server
process: a row per report and parameters (``key``, the SHA-256 of both), holding the result
as JSON with when it was computed and how long that took, and the claim of the process
computing it now.

A claim is a compare-and-set on the row: a process takes it when nobody holds it or the
holder's claim has run out (the holder stopped, or takes longer than its claim), so that one
process at a time computes a report whatever the number of servers, on SQLite and
PostgreSQL alike; saving the result, or giving up after an error, ends the claim.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import orjson
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from juncture.core.events import as_utc
from juncture.store import failures
from juncture.store.summary_tables import report_results as R


@dataclass(frozen=True, slots=True)
class Stored:
    """A stored result: its JSON text, when it was computed and how long that took."""

    value: str
    computed_at: dt.datetime
    took_s: float


def key_of(report: str, params: str) -> str:
    """The row's key for ``report`` with ``params`` (JSON text)."""
    return hashlib.sha256(orjson.dumps([report, params])).hexdigest()


class ReportResults:
    """The stored results of one SQL store (``SqlStore.report_results``)."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def last(self, key: str) -> Stored | None:
        """The result stored under ``key``, None before the first is saved."""
        query = sa.select(R.c.value, R.c.computed_at, R.c.took_s).where(
            R.c.key == key, R.c.value.is_not(None)
        )
        with failures.connection(self._engine) as conn:
            found = conn.execute(query).first()
        return None if found is None else Stored(found[0], as_utc(found[1]), float(found[2]))

    def claim(
        self, key: str, report: str, params: str, owner: str, *, now: dt.datetime,
        until: dt.datetime,
    ) -> bool:  # fmt: skip
        """Whether ``owner`` now holds the claim to compute ``key`` (up to ``until``): it
        does when nobody held it at ``now``."""
        free = sa.or_(R.c.claimed_until.is_(None), R.c.claimed_until <= now)
        take = R.update().where(R.c.key == key, free).values(claimed_by=owner, claimed_until=until)
        row = {"key": key, "report": report[:64], "params": params, "claimed_by": owner,
               "claimed_until": until}  # fmt: skip
        with failures.transaction(self._engine, "claim a report") as conn:
            if conn.execute(take).rowcount:
                return True
            dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
            insert = dialect.insert(R).on_conflict_do_nothing(index_elements=[R.c.key])
            return bool(conn.execute(insert.returning(R.c.key), [row]).fetchall())

    def save(self, key: str, owner: str, value: str, computed_at: dt.datetime, took: float) -> None:
        """Store ``owner``'s result for ``key`` and end its claim."""
        done = {"value": value, "computed_at": computed_at, "took_s": took}
        with failures.transaction(self._engine, "save a report") as conn:
            conn.execute(R.update().where(R.c.key == key).values(**done))
            self._release(conn, key, owner)

    def release(self, key: str, owner: str) -> None:
        """End ``owner``'s claim on ``key`` without a result (its computation failed)."""
        with failures.transaction(self._engine, "release a report") as conn:
            self._release(conn, key, owner)

    @staticmethod
    def _release(conn: sa.Connection, key: str, owner: str) -> None:
        mine = sa.and_(R.c.key == key, R.c.claimed_by == owner)
        conn.execute(R.update().where(mine).values(claimed_by=None, claimed_until=None))
