"""The journeys the engine runs on: every version still in use, and which ones take entries.

Built by :class:`juncture.store.journeys.JourneyStore` from the ``journeys`` table, read by
the engine once per commit. Pure data: the engine gives :attr:`Catalog.versions` to the state
machine for enrollments already running, and lets a journey enroll only when its id is in
:attr:`Catalog.open`.
"""

from __future__ import annotations

from dataclasses import dataclass

from juncture.core.journeys.spec import JourneySpec

# Version statuses in the store. ``superseded``: a newer version takes entries, customers
# already in this one finish on it. ``archived``: stopped for good, its enrollments too.
ACTIVE = "active"
PAUSED = "paused"
SUPERSEDED = "superseded"
ARCHIVED = "archived"
STATUSES = (ACTIVE, PAUSED, SUPERSEDED, ARCHIVED)
RUNNING = (ACTIVE, PAUSED, SUPERSEDED)


@dataclass(frozen=True, slots=True)
class Catalog:
    """``versions``: every version enrollments may still run on (active, paused, superseded),
    ordered by journey id then version. ``open``: journey ids whose latest version is active
    (not paused, not archived), so that new customers may enter it.
    """

    versions: tuple[JourneySpec, ...] = ()
    open: frozenset[str] = frozenset()

    def latest(self, journey_id: str) -> JourneySpec | None:
        """The newest running version of ``journey_id``, if any."""
        found = [v for v in self.versions if v.id == journey_id]
        return max(found, key=lambda v: v.version) if found else None

    def entering(self) -> tuple[JourneySpec, ...]:
        """The versions that take new entries: the latest version of each open journey."""
        chosen = (self.latest(journey_id) for journey_id in sorted(self.open))
        return tuple(v for v in chosen if v is not None)
