"""The engine's catalog of journeys, kept cheap enough to ask for at every commit.

Each call runs one small query on a driver connection kept for the purpose: the running
versions' ids, version numbers and statuses. When they are what they were, the catalog
built last time is returned as it is; otherwise the new versions' sources are read and
parsed (once per version) and the catalog is rebuilt. Going through the pool instead would
cost about ten times the query on PostgreSQL (check-out, pre-ping, reset), which is why one
connection is held (autocommit: it never holds a transaction or a snapshot open).
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import threading
from collections.abc import Sequence
from typing import Any, Final

import sqlalchemy as sa

from juncture.core.journeys import catalog as cat
from juncture.core.journeys.spec import JourneySpec
from juncture.definitions import journeys as journey_definitions
from juncture.errors import InvalidDefinition, StoreUnavailable
from juncture.store import driver_sql
from juncture.store.held import DRIVER_ERRORS, HeldConnection

log = logging.getLogger(__name__)
_RUNNING: Final = (
    "SELECT journey_id, version, status FROM journeys "
    "WHERE status IN ('active', 'paused', 'superseded') ORDER BY journey_id, version"
)
_SOURCE: Final = "SELECT source, filename FROM journeys WHERE journey_id = {m} AND version = {m}"
Row = tuple[str, int, str]


@functools.lru_cache(maxsize=512)
def stored_spec(source: str, filename: str, version: int) -> JourneySpec:
    """A stored definition as a spec carrying the store's version number (parsed once: specs
    are frozen, so one object serves every caller)."""
    return dataclasses.replace(journey_definitions.loads(source, filename), version=version)


class CatalogCache:
    """Thread-safe; :meth:`close` releases the held connection."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._mark = driver_sql.mark(engine.dialect.name)
        self._lock = threading.Lock()
        self._held = HeldConnection(engine, "journey catalog")
        self._seen: tuple[Row, ...] | None = None
        self._specs: dict[tuple[str, int], JourneySpec | None] = {}
        self._catalog = cat.Catalog()

    def catalog(self) -> cat.Catalog:
        with self._lock:
            for attempt in (1, 2):
                try:
                    return self._refresh()
                except DRIVER_ERRORS as exc:
                    self._held.close()  # a dropped connection: try once on a new one
                    if attempt == 2:
                        raise StoreUnavailable(f"the store cannot be read: {exc}") from exc
        raise AssertionError("unreachable")

    def close(self) -> None:
        with self._lock:
            self._held.close()

    def _refresh(self) -> cat.Catalog:
        rows = tuple((str(j), int(v), str(s)) for j, v, s in self._fetch(_RUNNING, ()))
        if rows == self._seen:
            return self._catalog
        for journey_id, version, _ in rows:
            if (journey_id, version) not in self._specs:
                self._specs[(journey_id, version)] = self._parse(journey_id, version)
        self._catalog = self._build(rows)
        self._seen = rows
        return self._catalog

    def _fetch(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        return self._held.fetch(sql, params)

    def _parse(self, journey_id: str, version: int) -> JourneySpec | None:
        [(source, filename)] = self._fetch(_SOURCE.format(m=self._mark), (journey_id, version))
        try:
            return stored_spec(source, filename, version)
        except InvalidDefinition:
            # Stored before a stricter validator: left out rather than stopping the engine.
            log.error("journey %s v%d no longer validates; left out", journey_id, version)
            return None

    def _build(self, rows: Sequence[Row]) -> cat.Catalog:
        latest: dict[str, str] = {}
        versions: list[JourneySpec] = []
        for journey_id, version, status in rows:
            latest[journey_id] = status  # rows are in version order: the last one wins
            spec = self._specs.get((journey_id, version))
            if spec is not None:
                versions.append(spec)
        opened = frozenset(j for j, status in latest.items() if status == cat.ACTIVE)
        return cat.Catalog(tuple(versions), opened)
