"""The journeys the engine runs with: every version in use, and which journeys take entries.

Built by :class:`juncture.store.journeys.JourneyStore` from the ``journeys`` table (or by
:meth:`Catalog.of` for a static set), read by the engine once per commit. Pure data: the
engine gives :attr:`Catalog.versions` to the state machine for enrollments already running,
and lets a journey enroll only when its id is in :attr:`Catalog.open`. What the engine looks
up on every event (:attr:`Catalog.by_version`, :attr:`Catalog.starters`) is built with the
catalog, so it changes exactly when the catalog does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from juncture.core.journeys.spec import JourneySpec, entry_order

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
    """``versions``: every version an enrollment may still run on (active, paused,
    superseded), by journey id then version; ``open``: the ids of journeys whose latest
    version takes new entries (active: not paused, not archived)."""

    versions: tuple[JourneySpec, ...] = ()
    open: frozenset[str] = frozenset()
    triggers: frozenset[str] = field(init=False)  # event names that may start an enrollment
    listens: frozenset[str] = field(init=False)  # event names any version reacts to at all
    date_traits: frozenset[str] = field(init=False)  # traits a one-off `date` trigger watches
    yearly_traits: frozenset[str] = field(init=False)  # traits an `every: year` trigger watches
    # Looked up on every event, so built once per catalog: each version by (id, version), and
    # per event name the versions that may enroll on it, in the order they try.
    by_version: Mapping[tuple[str, int], JourneySpec] = field(init=False, repr=False, compare=False)
    starters: Mapping[str, tuple[JourneySpec, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = {name for j in self.versions if j.id in self.open for name in j.entered_by}
        object.__setattr__(self, "triggers", frozenset(names))
        heard = set(names)
        for j in self.versions:
            heard.update(j.moved_by)
        object.__setattr__(self, "listens", frozenset(heard))
        object.__setattr__(self, "by_version", {(j.id, j.version): j for j in self.versions})
        object.__setattr__(self, "starters", _starters(self.entering()))
        object.__setattr__(self, "date_traits", _date_traits(self.versions, self.open, None))
        # Every running version, paused ones too: a yearly timer dropped while a journey is
        # paused would not come back when it resumes (only a change of the trait arms one).
        everyone = frozenset(j.id for j in self.versions)
        object.__setattr__(self, "yearly_traits", _date_traits(self.versions, everyone, "year"))

    @classmethod
    def of(cls, specs: tuple[JourneySpec, ...] | list[JourneySpec]) -> Catalog:
        """Every spec in use and open for entry (tests, the demo, a static setup)."""
        return cls(versions=tuple(specs), open=frozenset(s.id for s in specs))

    def latest(self, journey_id: str) -> JourneySpec | None:
        """The newest running version of ``journey_id``, if any."""
        found = [v for v in self.versions if v.id == journey_id]
        return max(found, key=lambda v: v.version) if found else None

    def entering(self) -> tuple[JourneySpec, ...]:
        """The versions that take new entries: the latest version of each open journey."""
        chosen = (self.latest(journey_id) for journey_id in sorted(self.open))
        return tuple(v for v in chosen if v is not None)


def _starters(entering: tuple[JourneySpec, ...]) -> dict[str, tuple[JourneySpec, ...]]:
    """Per event name, the ``entering`` versions with a trigger on it, in entry order."""
    found: dict[str, list[JourneySpec]] = {}
    for j in sorted(entering, key=entry_order):
        for name in j.entered_by:
            found.setdefault(name, []).append(j)
    return {name: tuple(js) for name, js in found.items()}


def _date_traits(
    versions: tuple[JourneySpec, ...], journeys: frozenset[str], every: str | None
) -> frozenset[str]:
    """The traits that the date triggers (one-off, or repeating ``every``) of ``journeys``
    watch."""
    return frozenset(
        str(value)
        for j in versions
        if j.id in journeys
        for t in j.triggers
        if t.kind == "date" and t.every == every
        for key, value in t.match.properties
        if key == "trait"
    )
