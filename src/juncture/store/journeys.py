"""Journey definitions in the store: versions, their status, and the engine's catalog.

Versions are numbered by the store, 1, 2, 3, ... per journey. :meth:`JourneyStore.apply`
stores a new version only when the definition's meaning changed: comments, formatting and
the file's own ``version`` field alone do not make one (the file's number is the author's
note; the stored number is what enrollments record, and the served spec carries it). The
previous latest version becomes ``superseded``: customers already in it finish on it, new
customers enter the new one. A paused journey stays paused across an apply.

Statuses (:mod:`juncture.core.journeys.catalog`): ``active`` takes entries; ``paused`` takes
none, running enrollments go on; ``superseded`` as above; ``archived`` takes none and its
enrollments stop: its versions leave the catalog, and :meth:`JourneyStore.archive` ends the
running enrollments where they are (exit reason ``archived``) and removes their timers.
Applying a definition to an archived journey starts it again as a new active version.

Two applies of the same journey at once cannot both create a version: the primary key
``(journey_id, version)`` refuses the second insert, which is retried on fresh data.
"""

from __future__ import annotations

import builtins
import dataclasses
import datetime as dt
import json
import logging
from collections.abc import Callable, Collection, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
import yaml

from juncture.core.events import UTC, as_utc
from juncture.core.journeys import catalog as cat
from juncture.core.journeys.spec import JourneySpec
from juncture.core.journeys.state import Enrollment
from juncture.definitions import journeys as journey_definitions
from juncture.definitions import reader
from juncture.errors import Conflict, NotFound
from juncture.store import date_timers, failures, journey_stats, tables
from juncture.store.journey_catalog import CatalogCache, stored_spec

log = logging.getLogger(__name__)
_J: Final = tables.journeys
_ATTEMPTS: Final = 5
ARCHIVED_EXIT: Final = "archived"  # the exit reason of enrollments stopped by an archive


@dataclass(frozen=True, slots=True)
class Applied:
    """What :meth:`JourneyStore.apply` did. ``created`` is False when the definition equals the
    latest version (nothing stored); ``declared`` is the file's own ``version`` field."""

    journey_id: str
    version: int
    status: str
    created: bool
    declared: int
    filename: str
    date_timers: int = 0  # timers armed for profiles already holding a date trait it watches


@dataclass(frozen=True, slots=True)
class Version:
    journey_id: str
    version: int
    status: str
    filename: str
    created_at: dt.datetime

    def to_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "status": self.status,
            "filename": self.filename,
            "createdAt": self.created_at.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class Journey:
    """A journey as administrators see it: its latest version's status and spec, and every
    version's status. ``source`` is the shown version's definition as written."""

    spec: JourneySpec
    status: str
    source: str
    versions: tuple[Version, ...]

    @property
    def latest(self) -> Version:
        return self.versions[-1]

    def summary(self) -> dict[str, Any]:
        return {
            "id": self.spec.id,
            "name": self.spec.name,
            "status": self.status,
            "version": self.latest.version,
            "priority": self.spec.priority,
            "updatedAt": self.latest.created_at.isoformat(),
        }


class JourneyStore:
    """Journey versions in the ``journeys`` table. Thread-safe; one per process is enough,
    and several (the engine's, the API's) see each other's changes at once."""

    def __init__(self, engine: sa.Engine, clock: Callable[[], dt.datetime] | None = None) -> None:
        self.engine = engine
        # Without a clock (SqlStore's own repository) versions are stamped at wall time: the one
        # read of the clock left below runtime/, until SqlStore is handed the runtime's clock.
        self._now = clock or (lambda: dt.datetime.now(UTC))  # noqa: TID251
        self._cache = CatalogCache(engine)

    # -- the engine's view ----------------------------------------------------------------
    def catalog(self) -> cat.Catalog:
        """The running versions and the open journeys: one small query per call, sources
        read and parsed once per version (:mod:`juncture.store.journey_catalog`)."""
        return self._cache.catalog()

    def close(self) -> None:
        """Release the connection the catalog holds."""
        self._cache.close()

    # -- administration ---------------------------------------------------------------------
    def apply(
        self, text: str, filename: str = "<string>", templates: Collection[str] | None = None
    ) -> Applied:
        """Validate ``text`` (raises :class:`~juncture.definitions.InvalidJourney`, and then
        nothing changes) and store it as the journey's next version if its meaning changed.
        ``templates``: the names that exist, when a send naming another must be refused."""
        spec = journey_definitions.loads(text, filename, templates)
        meaning = _meaning(text, filename)
        for _ in range(_ATTEMPTS):
            try:
                applied = self._apply_once(spec, text, filename, meaning)
            except sa.exc.IntegrityError:
                continue  # another apply stored this version first: look again
            armed = self._arm_dates(spec, applied.status)
            return dataclasses.replace(applied, date_timers=armed)
        raise Conflict(
            f"journey {spec.id!r} is being changed by others at the same time; try again"
        )

    def _apply_once(self, spec: JourneySpec, text: str, filename: str, meaning: str) -> Applied:
        with self._begin() as conn:
            rows = conn.execute(
                sa.select(_J.c.version, _J.c.status, _J.c.source, _J.c.filename)
                .where(_J.c.journey_id == spec.id)
                .order_by(_J.c.version.desc())
                .limit(1)
            ).all()
            last = rows[0] if rows else None
            if last is not None and _unchanged(last, meaning):
                return Applied(spec.id, last.version, last.status, False, spec.version, filename)
            version = 1 if last is None else last.version + 1
            status = cat.PAUSED if last is not None and last.status == cat.PAUSED else cat.ACTIVE
            conn.execute(
                _J.update()
                .where(_J.c.journey_id == spec.id, _J.c.status.in_((cat.ACTIVE, cat.PAUSED)))
                .values(status=cat.SUPERSEDED)
            )
            conn.execute(
                _J.insert().values(
                    journey_id=spec.id,
                    version=version,
                    status=status,
                    source=text,
                    filename=filename[-300:],
                    created_at=self._now(),
                )
            )
        log.info("journey %s: version %d stored (%s)", spec.id, version, status)
        return Applied(spec.id, version, status, True, spec.version, filename)

    def apply_files(self, paths: Iterable[Path]) -> list[Applied]:
        """:meth:`apply_all` on files, named by their paths."""
        return self.apply_all([(str(p), p.read_text(encoding="utf-8")) for p in paths])

    def apply_library(self) -> list[Applied]:
        """Install (or update) the ready journeys shipped with Juncture."""
        return self.apply_all(library())

    def apply_all(
        self, texts: Sequence[tuple[str, str]], templates: Collection[str] | None = None
    ) -> list[Applied]:
        """Validate every ``(filename, text)`` first, then apply them: one bad definition
        applies none. Raises :class:`~juncture.definitions.InvalidJourney` with the problems
        of every definition (and of two definitions of the same journey id); ``templates``
        as for :meth:`apply`."""
        problems: list[reader.Problem] = []
        owners: dict[str, str] = {}
        for filename, text in texts:
            try:
                spec = journey_definitions.loads(text, filename, templates)
            except journey_definitions.InvalidJourney as exc:
                problems.extend(exc.problems)
                continue
            if spec.id in owners:
                message = f"journey {spec.id!r} is also defined in {owners[spec.id]}"
                problems.append(reader.Problem(filename, "id", message))
            owners[spec.id] = filename
        if problems:
            raise journey_definitions.InvalidJourney(problems)
        return [self.apply(text, filename, templates) for filename, text in texts]

    def pause(self, journey_id: str) -> Journey:
        """Stop new entries; customers already in the journey go on."""
        return self._set_latest(journey_id, cat.ACTIVE, cat.PAUSED)

    def resume(self, journey_id: str) -> Journey:
        """Take new entries again after :meth:`pause`."""
        return self._set_latest(journey_id, cat.PAUSED, cat.ACTIVE)

    def archive(self, journey_id: str) -> Journey:
        """Stop the journey for good: no entries, and its running enrollments end where they
        are (exit reason ``archived``, their timers removed), in one transaction. Applying a
        definition again later starts the journey anew; the ended enrollments then count for
        its re-entry rules like any others."""
        self.show(journey_id)
        now = self._now()
        with self._begin() as conn:
            conn.execute(
                _J.update()
                .where(_J.c.journey_id == journey_id, _J.c.status != cat.ARCHIVED)
                .values(status=cat.ARCHIVED)
            )
            stopped = _stop_enrollments(conn, journey_id, now)
        log.info("journey %s archived; %d running enrollments stopped", journey_id, stopped)
        return self.show(journey_id)

    def _set_latest(self, journey_id: str, before: str, after: str) -> Journey:
        for _ in range(_ATTEMPTS):
            current = self.show(journey_id)
            if current.status == after:
                return current
            if current.status != before:
                raise Conflict(
                    f"journey {journey_id!r} is {current.status}: only an {before} journey "
                    f"can be set {after}"
                    + (" (apply it again to restart it)" if current.status == cat.ARCHIVED else "")
                )
            with self._begin() as conn:
                done = conn.execute(
                    _J.update()
                    .where(
                        _J.c.journey_id == journey_id,
                        _J.c.version == current.latest.version,
                        _J.c.status == before,
                    )
                    .values(status=after)
                ).rowcount
            if done:
                log.info("journey %s %s", journey_id, after)
                if after == cat.ACTIVE:  # one-off date triggers watch again
                    self._arm_dates(current.spec, after)
                return self.show(journey_id)
        raise Conflict(f"journey {journey_id!r} is being changed by others; try again")

    def _arm_dates(self, spec: JourneySpec, status: str) -> int:
        """Date timers for the profiles already holding a trait that ``spec``'s date
        triggers watch (:mod:`juncture.store.date_timers`): yearly ones whatever its status,
        one-off ones only while it takes entries, as the engine's catalog watches them. On
        every apply, changed or not: a timer is never set twice, and applying again mends
        an apply that stopped half way."""
        entering = frozenset({spec.id} if status == cat.ACTIVE else ())
        watching = cat.Catalog(versions=(spec,), open=entering)
        once, yearly = watching.date_traits, watching.yearly_traits
        armed = date_timers.arm_existing(self.engine, once, yearly, self._now())
        if armed:
            log.info("journey %s: %d date timers set for profiles holding the date", spec.id, armed)
        return armed

    # -- reading ----------------------------------------------------------------------------
    def list(self) -> list[Journey]:
        """Every journey, archived ones too, by id, with its latest version."""
        with self._connect() as conn:
            rows = conn.execute(sa.select(_J).order_by(_J.c.journey_id, _J.c.version)).all()
        grouped: dict[str, list[Any]] = {}
        for row in rows:
            grouped.setdefault(row.journey_id, []).append(row)
        return [_journey(found, None) for found in grouped.values()]

    def show(self, journey_id: str, version: int | None = None) -> Journey:
        """One journey with all its versions; the spec and source of ``version`` (default:
        the latest). Raises :class:`~juncture.errors.NotFound`."""
        with self._connect() as conn:
            rows = conn.execute(
                sa.select(_J).where(_J.c.journey_id == journey_id).order_by(_J.c.version)
            ).all()
        if not rows:
            raise NotFound(f"no journey {journey_id!r}")
        if version is not None and version not in {r.version for r in rows}:
            raise NotFound(f"journey {journey_id!r} has no version {version}")
        return _journey(rows, version)

    # -- what happened ----------------------------------------------------------------------
    def stats(self, journey_id: str, version: int | None = None) -> journey_stats.JourneyStats:
        """Counts per journey and node (:mod:`juncture.store.journey_stats`), nodes in the
        order of the shown version. Raises :class:`~juncture.errors.NotFound`."""
        shown = self.show(journey_id, version)
        order = {journey_id: list(shown.spec.nodes)}
        return journey_stats.collect(self.engine, journey_id, version, order)[journey_id]

    def all_stats(self) -> builtins.list[journey_stats.JourneyStats]:
        """Counts for every journey, archived ones too (Prometheus reads these). Raises
        :class:`~juncture.errors.StoreUnavailable` or :class:`~juncture.errors.StoreError`
        when the store cannot answer."""
        with failures.mapped("read journey stats"):
            order = {j.spec.id: list(j.spec.nodes) for j in self.list()}
            return list(journey_stats.collect(self.engine, order=order).values())

    # -- connections ------------------------------------------------------------------------
    def _connect(self) -> AbstractContextManager[sa.Connection]:
        return failures.connection(self.engine)

    def _begin(self) -> AbstractContextManager[sa.Connection]:
        """A transaction; IntegrityError passes through for :meth:`apply` to retry."""
        return failures.writing(self.engine)


def _stop_enrollments(conn: sa.Connection, journey_id: str, now: dt.datetime) -> int:
    e = tables.enrollments
    rows = conn.execute(
        sa.select(e.c.enrollment_id, e.c.state).where(
            e.c.journey_id == journey_id, e.c.status == "active"
        )
    ).all()
    timers: list[str] = []
    for enrollment_id, state in rows:
        before = Enrollment.from_json(json.loads(state))
        if before.waiting is not None:
            timers.append(before.waiting.timer_key)
        after = dataclasses.replace(
            before, waiting=None, exited=True, exit_reason=ARCHIVED_EXIT, exited_at=now
        )
        conn.execute(
            e.update()
            .where(e.c.enrollment_id == enrollment_id)
            .values(
                status="exited",
                exit_reason=ARCHIVED_EXIT,
                updated_at=now,
                state=json.dumps(after.to_json()),
            )
        )
    for chunk in range(0, len(timers), 500):
        conn.execute(
            tables.timers.delete().where(tables.timers.c.key.in_(timers[chunk : chunk + 500]))
        )
    return len(rows)


def library() -> list[tuple[str, str]]:
    """The shipped definitions as ``(filename, text)``, named ``library/<file>``."""
    found = sorted(journey_definitions.LIBRARY.glob("*.yaml"))
    return [(f"library/{p.name}", p.read_text(encoding="utf-8")) for p in found]


def _journey(rows: Sequence[Any], version: int | None) -> Journey:
    chosen = rows[-1] if version is None else next(r for r in rows if r.version == version)
    versions = tuple(
        Version(r.journey_id, r.version, r.status, r.filename, as_utc(r.created_at)) for r in rows
    )
    spec = stored_spec(chosen.source, chosen.filename, chosen.version)
    return Journey(spec, rows[-1].status, chosen.source, versions)


def _unchanged(last: Any, meaning: str) -> bool:
    """Whether ``last`` (a row) is live and means the same as ``meaning``."""
    return bool(last.status != cat.ARCHIVED and _meaning(last.source, last.filename) == meaning)


def _meaning(text: str, filename: str) -> str:
    """The definition without comments, layout and its ``version`` field: what changes it."""
    data = json.loads(text) if filename.endswith(".json") else yaml.safe_load(text)
    if isinstance(data, dict):
        data = {k: v for k, v in data.items() if k != "version"}
    return json.dumps(data, sort_keys=True, default=str)
