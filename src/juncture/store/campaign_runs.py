"""Scheduled and throttled campaigns (``campaign_runs``, migration 0020): what each is (its
definition, as JSON), when it starts (``send_at``), how many members a minute it may start
(``per_minute``, none: all at once), and how far it has got: its ``status`` (scheduled,
sending, done, cancelled), the last profile id it started (members are started in profile
id order, so ``cursor`` is where the next tick reads on from) and how many it reached and
started. Declared on the one schema of :mod:`juncture.store.tables`, which imports this
module. A one-off campaign sent at once has no row.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa

from juncture.errors import Conflict
from juncture.store import failures
from juncture.store.tables import metadata

SCHEDULED: Final = "scheduled"
SENDING: Final = "sending"
DONE: Final = "done"
CANCELLED: Final = "cancelled"
OPEN: Final = (SCHEDULED, SENDING)  # still to start members

campaign_runs = sa.Table(
    "campaign_runs",
    metadata,
    sa.Column("id", sa.String(60), primary_key=True),
    sa.Column("definition", sa.Text(), nullable=False),  # the campaign's fields, JSON
    sa.Column("send_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("per_minute", sa.Integer()),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("cursor", sa.String(64), nullable=False),  # the last profile id reached
    sa.Column("reached", sa.Integer(), nullable=False),  # members read from the segment
    sa.Column("started", sa.Integer(), nullable=False),  # Campaign Started events stored
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    sa.Index(None, "status", "send_at"),
)
R = campaign_runs


@dataclass(frozen=True, slots=True)
class Run:
    """One stored campaign and its progress."""

    id: str
    definition: str
    send_at: dt.datetime
    per_minute: int | None
    status: str
    cursor: str
    reached: int
    started: int

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "sendAt": self.send_at.isoformat(),
                "perMinute": self.per_minute, "reached": self.reached,
                "started": self.started}  # fmt: skip


class CampaignRuns:
    """The stored campaigns of one SQL store."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def add(self, run: Run, now: dt.datetime) -> None:
        """Store ``run`` (a campaign of that id still open: Conflict; one done or cancelled
        is replaced)."""
        values = {"id": run.id, "definition": run.definition, "send_at": run.send_at,
                  "per_minute": run.per_minute, "status": run.status, "cursor": run.cursor,
                  "reached": run.reached, "started": run.started, "created_at": now,
                  "updated_at": now}  # fmt: skip
        with failures.transaction(self._engine, "store a campaign") as conn:
            status = conn.execute(sa.select(R.c.status).where(R.c.id == run.id)).scalar()
            if status in OPEN:
                raise Conflict(f"campaign {run.id!r} is {status}; cancel it first",
                               where="id")  # fmt: skip
            conn.execute(R.delete().where(R.c.id == run.id))
            conn.execute(R.insert().values(values))

    def get(self, campaign_id: str) -> Run | None:
        with failures.connection(self._engine) as conn:
            row = conn.execute(sa.select(R).where(R.c.id == campaign_id)).first()
        return None if row is None else _run(row._mapping)

    def due(self, now: dt.datetime) -> list[Run]:
        """The open campaigns whose time has come, oldest first."""
        query = sa.select(R).where(R.c.status.in_(OPEN), R.c.send_at <= now)
        with failures.connection(self._engine) as conn:
            rows = conn.execute(query.order_by(R.c.send_at, R.c.id)).all()
        return [_run(r._mapping) for r in rows]

    def advance(self, run: Run, after: Run, now: dt.datetime) -> bool:
        """Record ``after``'s progress if ``run`` is still as read (open, at its cursor):
        whether it was recorded (not: another job moved it, or it was cancelled)."""
        values = {"status": after.status, "cursor": after.cursor, "reached": after.reached,
                  "started": after.started, "updated_at": now}  # fmt: skip
        where = (R.c.id == run.id, R.c.status.in_(OPEN), R.c.reached == run.reached)
        with failures.transaction(self._engine, "record a campaign's progress") as conn:
            return conn.execute(R.update().where(*where).values(values)).rowcount == 1

    def cancel(self, campaign_id: str, now: dt.datetime) -> Run | None:
        """Stop an open campaign (none of that id: None; done or cancelled already: as is)."""
        query = R.update().where(R.c.id == campaign_id, R.c.status.in_(OPEN))
        with failures.transaction(self._engine, "cancel a campaign") as conn:
            conn.execute(query.values(status=CANCELLED, updated_at=now))
        return self.get(campaign_id)


def _run(m: Any) -> Run:
    at: dt.datetime = m["send_at"]
    at = at.replace(tzinfo=dt.UTC) if at.tzinfo is None else at.astimezone(dt.UTC)
    return Run(m["id"], m["definition"], at, m["per_minute"], m["status"], m["cursor"],
               m["reached"], m["started"])  # fmt: skip
