"""The segments repository: saved definitions, their members, sizes and history, evaluated
in batch through :mod:`juncture.store.segment_sql`."""

from __future__ import annotations

import csv
import datetime as dt
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import IO, Any, Final

import sqlalchemy as sa

from juncture.core.collection import SHARING
from juncture.core.events import UTC
from juncture.core.profile.model import Profile
from juncture.core.segments import conditions as seg
from juncture.errors import NotFound
from juncture.store import product_views, tables
from juncture.store.segment_sql import Expr, compile_condition, consent_not_refused, utc

_P: Final = tables.profiles
_E: Final = tables.events
_CHUNK: Final = 500


@dataclass(frozen=True, slots=True)
class SavedSegment:
    segment_id: str
    name: str
    kind: str
    source: str
    filename: str
    created_at: dt.datetime
    updated_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Refresh:
    """What one refresh of the members table did."""

    size: int
    entered: tuple[str, ...]
    exited: tuple[str, ...]


class SegmentStore:
    """Segment definitions, batch membership, the members table and size history."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name

    # -- evaluation --------------------------------------------------------------------
    def query(self, segment: seg.Segment, now: dt.datetime) -> sa.Select[tuple[str]]:
        """The live profiles in ``segment`` at ``now``, ordered by id."""
        cond = compile_condition(segment, now, self.dialect)
        return (
            sa.select(_P.c.profile_id)
            .where(_P.c.redirect_to.is_(None), cond)
            .order_by(_P.c.profile_id)
        )

    def members(
        self, segment: seg.Segment, now: dt.datetime, *, after: str = "", limit: int | None = None
    ) -> list[str]:
        """Member ids in order; page with ``after`` (the last id seen) and ``limit``."""
        query = self.query(segment, now)
        if after:
            query = query.where(_P.c.profile_id > after)
        if limit is not None:
            query = query.limit(limit)
        with self.engine.connect() as conn:
            return [str(row[0]) for row in conn.execute(query)]

    def size(self, segment: seg.Segment, now: dt.datetime) -> int:
        cond = compile_condition(segment, now, self.dialect)
        query = sa.select(sa.func.count()).where(_P.c.redirect_to.is_(None), cond)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def export_csv(self, segment: seg.Segment, now: dt.datetime, out: IO[str]) -> int:
        """Write members with their main facts as CSV; returns the row count."""
        return self._export(compile_condition(segment, now, self.dialect), out)

    def export_stored_csv(self, segment_id: str, out: IO[str]) -> int:
        """Like :meth:`export_csv` for the stored members (automatic segments)."""
        m = tables.segment_members
        stored = sa.select(m.c.profile_id).where(m.c.segment_id == segment_id)
        return self._export(_P.c.profile_id.in_(stored), out)

    def _export(self, cond: Expr, out: IO[str]) -> int:
        """Members who did not refuse the sale or sharing of their data (``*:sharing``):
        an export leaves Juncture, typically for an advertising audience."""
        cols = ["profile_id", "email", "country", "city", "stage", "order_count", "revenue"]
        shared = consent_not_refused(f"*:{SHARING}", self.dialect)
        query = (
            sa.select(*(_P.c[c] for c in cols))
            .where(_P.c.redirect_to.is_(None), cond, shared)
            .order_by(_P.c.profile_id)
        )
        writer = csv.writer(out)
        writer.writerow(cols)
        n = 0
        with self.engine.connect() as conn:
            for row in conn.execution_options(stream_results=True).execute(query):
                writer.writerow(row)
                n += 1
        return n

    # -- the members table -------------------------------------------------------------
    def refresh(self, segment: seg.Segment, now: dt.datetime) -> Refresh:
        """Bring ``segment_members`` up to date and record the size; returns who moved."""
        m = tables.segment_members
        current = set(self.members(segment, now))
        with self.engine.begin() as conn:
            rows = conn.execute(sa.select(m.c.profile_id).where(m.c.segment_id == segment.id))
            before = {r[0] for r in rows}
            entered, exited = sorted(current - before), sorted(before - current)
            for chunk in _chunks(exited):
                conn.execute(
                    m.delete().where(m.c.segment_id == segment.id, m.c.profile_id.in_(chunk))
                )
            if entered:
                conn.execute(
                    m.insert(),
                    [
                        {"segment_id": segment.id, "profile_id": p, "since": utc(now)}
                        for p in entered
                    ],
                )
            conn.execute(
                tables.segment_sizes.insert().values(
                    segment_id=segment.id,
                    at=utc(now),
                    size=len(current),
                    entered=len(entered),
                    exited=len(exited),
                )
            )
        return Refresh(len(current), tuple(entered), tuple(exited))

    def replace_members(self, segment_id: str, members: Sequence[str], now: dt.datetime) -> None:
        """Set the stored members outright and record the size (automatic segments)."""
        m = tables.segment_members
        with self.engine.begin() as conn:
            conn.execute(m.delete().where(m.c.segment_id == segment_id))
            if members:
                rows = [
                    {"segment_id": segment_id, "profile_id": p, "since": utc(now)} for p in members
                ]
                conn.execute(m.insert(), rows)
            conn.execute(
                tables.segment_sizes.insert().values(
                    segment_id=segment_id, at=utc(now), size=len(members), entered=len(members)
                )
            )

    def stored_size(self, segment_id: str) -> int:
        m = tables.segment_members
        query = sa.select(sa.func.count()).where(m.c.segment_id == segment_id)
        with self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def live_profiles(self) -> Iterator[tuple[str, Profile]]:
        """Every live profile with its id, streamed (their product views read a chunk of
        profiles at a time)."""
        query = sa.select(_P.c.profile_id, _P.c.body).where(
            _P.c.redirect_to.is_(None), _P.c.body.is_not(None)
        )
        with self.engine.connect() as conn:
            rows = conn.execution_options(stream_results=True).execute(query)
            while chunk := [(str(pid), str(body)) for pid, body in rows.fetchmany(_CHUNK)]:
                views = product_views.read(conn, [pid for pid, _ in chunk])
                for pid, body in chunk:
                    yield pid, product_views.profile(body, views.get(pid))

    def stored_members(
        self, segment_id: str, *, after: str = "", limit: int = 100
    ) -> list[tuple[str, dt.datetime]]:
        """Members as of the last refresh, with the time each entered."""
        m = tables.segment_members
        query = (
            sa.select(m.c.profile_id, m.c.since)
            .where(m.c.segment_id == segment_id, m.c.profile_id > after)
            .order_by(m.c.profile_id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [(r[0], _aware(r[1])) for r in conn.execute(query)]

    def sizes(self, segment_id: str, limit: int = 1000) -> list[dict[str, Any]]:
        """Size history, oldest first."""
        s = tables.segment_sizes
        query = (
            sa.select(s.c.at, s.c.size, s.c.entered, s.c.exited)
            .where(s.c.segment_id == segment_id)
            .order_by(s.c.at.desc(), s.c.id.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(query)]
        for row in rows:
            row["at"] = _aware(row["at"])
        return rows[::-1]

    # -- definitions -------------------------------------------------------------------
    def save(
        self, segment: seg.Segment, source: str, filename: str, now: dt.datetime, kind: str
    ) -> None:
        """Insert or replace a definition (the text as written)."""
        t = tables.segments
        values = {"name": segment.name, "kind": kind, "source": source, "filename": filename}
        with self.engine.begin() as conn:
            done = conn.execute(
                t.update().where(t.c.segment_id == segment.id).values(**values, updated_at=utc(now))
            )
            if not done.rowcount:
                conn.execute(
                    t.insert().values(
                        segment_id=segment.id, **values, created_at=utc(now), updated_at=utc(now)
                    )
                )

    def exists(self, segment_id: str) -> bool:
        t = tables.segments
        with self.engine.connect() as conn:
            query = sa.select(t.c.segment_id).where(t.c.segment_id == segment_id)
            return conn.execute(query).first() is not None

    def get(self, segment_id: str) -> SavedSegment:
        t = tables.segments
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(t).where(t.c.segment_id == segment_id)).first()
        if row is None:
            raise NotFound(f"no segment {segment_id!r}")
        return _saved(row._mapping)

    def list(self, kind: str | None = None) -> list[SavedSegment]:
        t = tables.segments
        query = sa.select(t).order_by(t.c.segment_id)
        if kind is not None:
            query = query.where(t.c.kind == kind)
        with self.engine.connect() as conn:
            return [_saved(r._mapping) for r in conn.execute(query)]

    def delete_kind(self, kind: str) -> None:
        """Drop every definition of a kind, with its members (automatic segments are
        replaced on re-run; their size history stays)."""
        t, m = tables.segments, tables.segment_members
        with self.engine.begin() as conn:
            ids = sa.select(t.c.segment_id).where(t.c.kind == kind)
            conn.execute(m.delete().where(m.c.segment_id.in_(ids)))
            conn.execute(t.delete().where(t.c.kind == kind))


def _saved(row: Any) -> SavedSegment:
    return SavedSegment(
        segment_id=row["segment_id"],
        name=row["name"],
        kind=row["kind"],
        source=row["source"],
        filename=row["filename"],
        created_at=_aware(row["created_at"]),
        updated_at=_aware(row["updated_at"]),
    )


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _chunks(items: Sequence[str], size: int = 500) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
