"""The SQL store: SQLite (embedded default) and PostgreSQL through one schema.

:class:`SqlStore` is the storage port: the rest of Juncture reaches the database through it
and the repositories it holds (``journeys``, ``outbox``, ``segments``, ``placements``,
``profiles``), never through SQLAlchemy, which only ``store/`` imports (an import-linter
contract says so).

Reads go through SQLAlchemy Core. The append path, which is the hot path, speaks to the
driver directly (``store/dialects.py``), because SQLAlchemy's per-row work would cost more
than the insert itself.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import sqlalchemy as sa

from juncture.core.events import Event, as_utc
from juncture.core.profile.reducer import DERIVED_SOURCE
from juncture.store import dialects, erasure, failures, journey_report, tables
from juncture.store import migrate as migrations
from juncture.store.access import Access
from juncture.store.activity import Activity
from juncture.store.base import FailedEvent, Writer
from juncture.store.catalog import Catalog
from juncture.store.catalog_imports import CatalogImports
from juncture.store.customer_orders import CustomerOrders
from juncture.store.dashboard import DashboardReads
from juncture.store.journey_measures import JourneyMeasures
from juncture.store.journeys import JourneyStore
from juncture.store.lag_samples import LagSamples
from juncture.store.log_positions import LogPositions
from juncture.store.outbox import Outbox
from juncture.store.placements import Placements
from juncture.store.profiles import ProfileReads
from juncture.store.programmes import Programmes
from juncture.store.recommend import RecommendReads
from juncture.store.recommend_models import ModelStore
from juncture.store.report_results import ReportResults
from juncture.store.segments import SegmentStore


def engine_url(url: str) -> str:
    """Accept the URL forms people write and name the driver we use."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


class SqlStore:
    """A :class:`~juncture.store.base.Store` over a SQLAlchemy engine, with the repositories
    of the same database, built once: ``journeys`` (definitions, the engine's catalog,
    stats), ``outbox``, ``segments``, ``placements`` (on-site decisions), ``profiles``
    (reads for the profile API), ``log_positions`` (where the engine stands in the log),
    and for measurement ``customer_orders`` (each customer's orders) and
    ``journey_measures`` (enrollments, merges, message counts), and ``catalog`` (the
    retailer's products, stock and locations) and ``programmes`` (loyalty, promotions,
    coupons, associates, reviews). ``engine`` is for
    ``store/`` and its tests only."""

    def __init__(self, url: str, *, sqlite_synchronous: str = "FULL") -> None:
        self.url = engine_url(url)
        self.engine = dialects.create_engine(self.url, sqlite_synchronous=sqlite_synchronous)
        self.dialect = self.engine.dialect.name
        self.closed = False
        # a connection given back after close (by a dashboard report's thread, which a
        # stopping server does not wait for) is closed then, not left open in the disposed
        # pool until the garbage collector finds it
        sa.event.listen(self.engine, "checkin", self._checked_in)
        self.journeys = JourneyStore(self.engine)
        self.outbox = Outbox(self.engine)
        self.segments = SegmentStore(self.engine)
        self.placements = Placements(self.engine)
        self.profiles = ProfileReads(self.engine)
        self.log_positions = LogPositions(self.engine)
        self.customer_orders = CustomerOrders(self.engine)
        self.journey_measures = JourneyMeasures(self.engine)
        self.catalog = Catalog(self.engine)  # the retailer's tables
        self.catalog_imports = CatalogImports(self.engine)  # the last feeds imported
        self.programmes = Programmes(self.engine)  # loyalty, offers, associates, reviews
        self.recommend = RecommendReads(self.engine, self.catalog)  # what recommenders read
        self.recommend_models = ModelStore(self.engine)  # trained models, across restarts
        self.dashboard = DashboardReads(self.engine)  # the dashboard's own reads
        self.activity = Activity(self.engine)  # the Overview's summary of the log
        self.lag_samples = LagSamples(self.engine)  # the engine's lag over time
        self.report_results = ReportResults(self.engine)  # the dashboard's slow reads
        self.access = Access(self.engine)  # scoped tokens, dashboard users, the audit log

    def writer(self, *, table_log: bool = True) -> Writer:
        """A writer (one connection); ``table_log`` False for ``juncture worker``, whose
        events the distributed log orders (:func:`dialects.writer_for`)."""
        return dialects.writer_for(self.engine, table_log=table_log)

    @contextmanager
    def journeys_at(self, clock: Callable[[], dt.datetime]) -> Iterator[JourneyStore]:
        """A journey repository of its own that stamps versions with ``clock``'s time (the
        demo applies its journeys in simulated time), closed on leaving."""
        journeys = JourneyStore(self.engine, clock=clock)
        try:
            yield journeys
        finally:
            journeys.close()

    # -- schema ----------------------------------------------------------------------------
    def migrate(self, revision: str = "head") -> None:
        """Apply the migrations up to ``revision`` (every pending one by default)."""
        migrations.upgrade(self.engine, revision)

    def schema_revision(self) -> str | None:
        """The revision the database's schema is at; None before the first migration."""
        return migrations.current(self.engine)

    # -- reports ---------------------------------------------------------------------------
    def erasures(self, limit: int = 100, before: int | None = None) -> list[dict[str, Any]]:
        """The erasures recorded, newest first (:func:`juncture.store.erasure.records`)."""
        return erasure.records(self.engine, limit, before)

    def journey_report(self) -> journey_report.ReportRows:
        """The rows the journey report is computed from (``analytics.journeys.report``)."""
        return journey_report.read(self.engine)

    def _connect(self) -> AbstractContextManager[sa.Connection]:
        return failures.connection(self.engine)

    def _begin(self) -> AbstractContextManager[sa.Connection]:
        return failures.writing(self.engine)

    def events(
        self,
        *,
        user_id: str | None = None,
        anonymous_id: str | None = None,
        after_seq: int = 0,
        limit: int = 100,
        derived: bool | None = None,
    ) -> list[Event]:
        """Stored events in sequence order. ``derived`` False keeps only what clients sent,
        True only what the engine derived (source ``juncture``), None both."""
        t = tables.events
        query = sa.select(t).where(t.c.seq > after_seq).order_by(t.c.seq).limit(limit)
        if user_id is not None:
            query = query.where(t.c.user_id == user_id)
        if anonymous_id is not None:
            query = query.where(t.c.anonymous_id == anonymous_id)
        if derived is not None:
            is_derived = t.c.source == DERIVED_SOURCE
            query = query.where(is_derived if derived else ~is_derived)
        with self._connect() as conn:
            return [dialects.event_of(row._mapping) for row in conn.execute(query)]

    def count_events(self) -> int:
        with self._connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(tables.events)).one()[0])

    def event_counts(self) -> dict[str, int]:
        """Stored events by name (``event`` for tracks, else the type)."""
        t = tables.events
        name = sa.func.coalesce(t.c.event, t.c.type)
        query = sa.select(name, sa.func.count()).group_by(name)
        with self._connect() as conn:
            return {str(row[0]): int(row[1]) for row in conn.execute(query)}

    def stats(self) -> dict[str, Any]:
        """Counts over the whole store, free of personal data (the demo's summary)."""
        e, p = tables.events, tables.profiles
        live = p.c.redirect_to.is_(None)
        name = sa.func.coalesce(e.c.event, e.c.type)
        with self._connect() as conn:

            def grouped(query: Any) -> dict[str, int]:
                return {str(k): int(v) for k, v in conn.execute(query)}

            def scalar(query: Any) -> int:
                return int(conn.execute(query).scalar_one())

            return {
                "events": scalar(sa.select(sa.func.count()).select_from(e)),
                "signals": grouped(
                    sa.select(name, sa.func.count())
                    .where(e.c.source == DERIVED_SOURCE)
                    .group_by(name)
                    .order_by(sa.func.count().desc())
                ),
                "profiles": scalar(sa.select(sa.func.count()).select_from(p).where(live)),
                "merged_profiles": scalar(sa.select(sa.func.count()).select_from(p).where(~live)),
                "identity_conflicts": scalar(
                    sa.select(sa.func.count()).select_from(tables.identity_conflicts)
                ),
                "stages": grouped(
                    sa.select(p.c.stage, sa.func.count()).where(live).group_by(p.c.stage)
                ),
                "timers_pending": scalar(sa.select(sa.func.count()).select_from(tables.timers)),
            }

    def failed(self, *, status: str | None = "failed", limit: int = 100) -> list[FailedEvent]:
        t = tables.failed_events
        query = sa.select(t).order_by(t.c.id).limit(limit)
        if status is not None:
            query = query.where(t.c.status == status)
        with self._connect() as conn:
            return [_failed(row._mapping) for row in conn.execute(query)]

    def mark_replayed(self, ids: Sequence[int], at: dt.datetime) -> None:
        t = tables.failed_events
        with self._begin() as conn:
            conn.execute(
                t.update().where(t.c.id.in_(list(ids))).values(status="replayed", replayed_at=at)
            )

    def add_write_key(self, *, source: str, name: str, key_hash: str, at: dt.datetime) -> None:
        with self._begin() as conn:
            conn.execute(
                tables.write_keys.insert().values(
                    source=source, name=name, key_hash=key_hash, created_at=at
                )
            )

    def write_key_source(self, key_hash: str) -> str | None:
        t = tables.write_keys
        query = sa.select(t.c.source).where(t.c.key_hash == key_hash, t.c.revoked_at.is_(None))
        with self._connect() as conn:
            return conn.execute(query).scalar_one_or_none()

    def ping(self) -> None:
        with self._connect() as conn:
            conn.execute(sa.text("SELECT 1"))

    def close(self) -> None:
        """Release the connections: the journey catalog's, then the pool's; one still in
        use is closed when it is given back."""
        self.closed = True
        self.journeys.close()
        self.engine.dispose()

    def _checked_in(self, _dbapi: Any, record: Any) -> None:
        if self.closed and record is not None:
            record.invalidate()


def _failed(row: Any) -> FailedEvent:
    return FailedEvent(
        id=row["id"],
        source=row["source"],
        received_at=as_utc(row["received_at"]),
        message_id=row["message_id"],
        code=row["code"],
        reason=row["reason"],
        path=row["path"],
        payload=row["payload"],
        status=row["status"],
        type_hint=row["type_hint"],
        raw=row["raw"],
    )
