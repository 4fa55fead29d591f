"""The engine's lag behind the log over time (``engine_lag``): a sample about once a minute,
written by the job that keeps the dashboard's summaries when the engine runs behind the log,
read by the Overview as the most behind it was in each bucket of a period."""

from __future__ import annotations

import datetime as dt
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Final

import sqlalchemy as sa

from juncture.store import failures
from juncture.store.activity import last_slot, minute_of
from juncture.store.summary_tables import engine_lag as G

KEEP: Final = dt.timedelta(days=31)  # samples older than this are deleted as new ones come


@dataclass(frozen=True, slots=True)
class LagBucket:
    """The most the engine was behind in one bucket: events, and seconds (None: no sample)."""

    start: dt.datetime
    events: int | None = None
    seconds: float | None = None


class LagSamples:
    """The lag samples of one SQL store (``SqlStore.lag_samples``)."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self.dialect = engine.dialect.name

    def _connect(self) -> AbstractContextManager[sa.Connection]:
        return failures.connection(self._engine)

    def add(self, at: dt.datetime, events: int, seconds: float) -> None:
        """One sample at ``at``; those older than :data:`KEEP` go."""
        with failures.transaction(self._engine, "sample the engine's lag") as conn:
            conn.execute(G.delete().where(G.c.at < at - KEEP))
            conn.execute(G.insert().values(at=at, events=events, seconds=seconds))

    def newest(self) -> dt.datetime | None:
        with self._connect() as conn:
            found = conn.execute(sa.select(sa.func.max(G.c.at))).scalar()
        return None if found is None else _utc(found)

    def buckets(self, since: dt.datetime, until: dt.datetime, step: int) -> list[LagBucket]:
        """The most behind in each bucket of ``step`` seconds (whole minutes) of
        [since, until), oldest first, every bucket present."""
        per = step // 60
        slot = sa.cast(minute_of(self.dialect, G.c.at) / per, sa.BigInteger)
        query = (
            sa.select(slot, sa.func.max(G.c.events), sa.func.max(G.c.seconds))
            .where(G.c.at >= since, G.c.at < until)
            .group_by(slot)
        )
        with self._connect() as conn:
            found = {int(n): (int(e), float(s)) for n, e, s in conn.execute(query)}
        first, last = int(since.timestamp()) // step, last_slot(until, step)
        out = []
        for n in range(first, last + 1):
            start = dt.datetime.fromtimestamp(n * step, dt.UTC)
            events, seconds = found.get(n, (None, None))
            out.append(LagBucket(start, events, seconds))
        return out


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
