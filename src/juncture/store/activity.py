"""Activity over time for the Overview, from a summary kept current instead of a period's
events aggregated on every ask.

:meth:`Activity.refresh` counts the events past the summary's mark (``summary_marks``) into
``activity_minutes``, a bounded range of ``seq`` at a time, through the primary key: what
it costs follows the events that arrived since the last refresh, not the size of the log.
:meth:`Activity.buckets` sums the minutes of a period into its buckets and adds the events
not yet counted (the tail past the mark) from the log itself, so the Overview is live.

Counting and moving the mark happen in one transaction, and the mark moves only from the
value that was read, so two refreshes at once (two servers, a page and the job) never count
an event twice: the later one finds the mark moved and counts nothing. On PostgreSQL a
transaction can commit a ``seq`` lower than one already visible; a refresh there counts
only events received ``settle`` ago or earlier, leaving the newest to the tail. Events that
retention deletes later stay counted: the summary holds counts, no personal data.
"""

from __future__ import annotations

import datetime as dt
import math
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from juncture.core.profile.reducer import DERIVED_SOURCE
from juncture.store import failures, tables
from juncture.store.kpi_sql import Body
from juncture.store.summary_tables import activity_minutes as M
from juncture.store.summary_tables import summary_marks as K

ORDER_EVENT: Final = "Order Completed"
MARK: Final = "activity"
CHUNK: Final = 100_000  # seqs counted per transaction by a refresh
TAIL: Final = 200_000  # most events past the mark a page aggregates itself
_E: Final = tables.events


@dataclass(frozen=True, slots=True)
class Bucket:
    """What happened in one bucket of time: client and derived events, orders, revenue."""

    start: dt.datetime
    events: int = 0
    derived: int = 0
    orders: int = 0
    revenue: float = 0.0


@dataclass(frozen=True, slots=True)
class Counted:
    """What a refresh did: events counted, and events still past the mark after it."""

    counted: int
    behind: int


class Activity:
    """The activity summary of one SQL store (``SqlStore.activity``)."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine
        self.dialect = engine.dialect.name
        # on PostgreSQL a lower seq may still commit: leave the newest events to the tail
        self.settle = dt.timedelta(seconds=0 if self.dialect == "sqlite" else 30)

    def _connect(self) -> AbstractContextManager[sa.Connection]:
        return failures.connection(self._engine)

    def refresh(self, now: dt.datetime, *, most: int | None = None) -> Counted:
        """Count the events past the mark, :data:`CHUNK` seqs per transaction, until none
        is left or ``most`` seqs were covered (None: no bound)."""
        counted = covered = 0
        while most is None or covered < most:
            mark, upper, newest = self._range(now, CHUNK)
            if upper <= mark:
                return Counted(counted, newest - mark)
            rows = self._read(mark, upper)
            if not self._move(mark, upper, rows, now):
                return Counted(counted, newest - mark)  # another refresh counted it first
            counted += sum(int(r.events) + int(r.derived) for r in rows)
            covered += upper - mark
            if upper == newest:
                return Counted(counted, 0)
        return Counted(counted, self.behind())

    def _range(self, now: dt.datetime, size: int) -> tuple[int, int, int]:
        """The mark, the last seq this chunk may count, and the newest seq."""
        with self._connect() as conn:
            mark = _mark(conn)
            newest = int(conn.execute(sa.select(sa.func.max(_E.c.seq))).scalar() or 0)
            upper = min(newest, mark + size)
            if self.settle:  # stop before the first event too new to be sure of
                young = conn.execute(
                    sa.select(sa.func.min(_E.c.seq)).where(
                        _E.c.seq > mark, _E.c.seq <= upper, _E.c.received_at >= now - self.settle
                    )
                ).scalar()
                upper = min(upper, int(young) - 1) if young is not None else upper
        return mark, upper, newest

    def _read(self, mark: int, upper: int) -> list[Any]:
        with self._connect() as conn:
            return list(conn.execute(self._grouped(mark, upper)))

    def _move(self, mark: int, upper: int, rows: list[Any], now: dt.datetime) -> bool:
        """Move the mark from ``mark`` to ``upper`` and add ``rows``, in one short write
        transaction that starts with the write; False when the mark had moved meanwhile."""
        with failures.transaction(self._engine, "count the activity summary") as conn:
            moved = conn.execute(
                K.update()
                .where(K.c.name == MARK, K.c.seq == mark)
                .values(seq=upper, updated_at=now)
            ).rowcount
            if moved and rows:
                conn.execute(self._add(rows))
        return bool(moved)

    def _grouped(self, after: int, through: int | None) -> sa.Select[Any]:
        """Events with ``after < seq <= through`` per minute of ``received_at``."""
        minute = minute_of(self.dialect, _E.c.received_at)
        derived = _E.c.source == DERIVED_SOURCE
        is_order = sa.and_(_E.c.event == ORDER_EVENT, sa.not_(derived))
        revenue = sa.case((is_order, _revenue(self.dialect)), else_=0)
        query = (
            sa.select(
                minute.label("minute"),
                sa.func.sum(sa.case((derived, 0), else_=1)).label("events"),
                sa.func.sum(sa.case((derived, 1), else_=0)).label("derived"),
                sa.func.sum(sa.case((is_order, 1), else_=0)).label("orders"),
                sa.func.coalesce(sa.func.sum(revenue), 0).label("revenue"),
            )
            .where(_E.c.seq > after)
            .group_by(minute)
        )
        return query if through is None else query.where(_E.c.seq <= through)

    def _add(self, rows: list[Any]) -> Any:
        """Add ``rows`` to their minutes (an upsert on both dialects)."""
        values = [
            {"minute": int(r.minute), "events": int(r.events), "derived": int(r.derived),
             "orders": int(r.orders), "revenue": float(r.revenue or 0)}
            for r in rows
        ]  # fmt: skip
        insert = (sqlite if self.dialect == "sqlite" else postgresql).insert(M).values(values)
        return insert.on_conflict_do_update(
            index_elements=[M.c.minute],
            set_={
                c: M.c[c] + insert.excluded[c] for c in ("events", "derived", "orders", "revenue")
            },
        )

    def behind(self) -> int:
        """Events past the mark (a cheap read of two keys)."""
        with self._connect() as conn:
            newest = int(conn.execute(sa.select(sa.func.max(_E.c.seq))).scalar() or 0)
            return max(0, newest - _mark(conn))

    def buckets(self, since: dt.datetime, until: dt.datetime, step: int) -> list[Bucket]:
        """Events received from the minute of ``since`` up to ``until`` in buckets of
        ``step`` seconds (a whole number of minutes), oldest first, every bucket present:
        the summary's minutes, and the events past its mark (up to :data:`TAIL` of them)."""
        first, last = int(since.timestamp()) // 60, last_slot(until, 60)
        per = step // 60
        bucket = M.c.minute.op("/")(per)  # whole division on both dialects: the bucket
        summed = (
            sa.select(
                bucket.label("minute"), sa.func.sum(M.c.events).label("events"),
                sa.func.sum(M.c.derived).label("derived"),
                sa.func.sum(M.c.orders).label("orders"), sa.func.sum(M.c.revenue).label("revenue"),
            )
            .where(M.c.minute >= first, M.c.minute <= last)
            .group_by(bucket)
        )  # fmt: skip
        sums: dict[int, list[float]] = {}
        with self._connect() as conn:
            mark = _mark(conn)
            for r in conn.execute(summed):  # a row per bucket
                sums[int(r.minute)] = [r.events, r.derived, r.orders, r.revenue]
            for r in conn.execute(self._grouped(mark, mark + TAIL)):  # a row per minute
                if first <= int(r.minute) <= last:
                    into = sums.setdefault(int(r.minute) // per, [0, 0, 0, 0.0])
                    for i, value in enumerate((r.events, r.derived, r.orders, r.revenue)):
                        into[i] += value or 0
        out = []
        for n in range(first // per, last // per + 1):
            e, d, o, rev = sums.get(n, (0, 0, 0, 0.0))
            start = dt.datetime.fromtimestamp(n * step, dt.UTC)
            out.append(Bucket(start, int(e or 0), int(d or 0), int(o or 0), float(rev or 0)))
        return out


def _mark(conn: sa.Connection) -> int:
    """The last seq counted (the row is made by the migration; 0 without it)."""
    return int(conn.execute(sa.select(K.c.seq).where(K.c.name == MARK)).scalar() or 0)


def last_slot(until: dt.datetime, step: int) -> int:
    """The last slot of ``step`` seconds that [..., ``until``) reaches: the one ``until`` falls
    in unless it is that slot's very start (a period ending now, in a minute's first second,
    still has that minute)."""
    return (math.ceil(until.timestamp()) - 1) // step


def minute_of(dialect: str, column: Any) -> Any:
    """Whole minutes since 1970 of ``column``."""
    if dialect == "sqlite":
        return sa.cast(sa.cast(sa.func.strftime("%s", column), sa.Integer) / 60, sa.Integer)
    return sa.cast(sa.func.floor(sa.extract("epoch", column) / 60), sa.BigInteger)


def _revenue(dialect: str) -> Any:
    """An order's revenue as Segment's spec names it: ``revenue``, else ``total``."""
    body = Body(_E.c.body, dialect)
    return sa.func.coalesce(
        body.number("properties", "revenue"), body.number("properties", "total"), 0
    )
