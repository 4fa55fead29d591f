"""The journeys the engine runs with: every version in use, and which journeys take entries."""

from __future__ import annotations

from dataclasses import dataclass

from juncture.core.journeys.spec import JourneySpec


@dataclass(frozen=True, slots=True)
class Catalog:
    """``versions``: every version an enrollment may still run on (active, paused,
    superseded); ``open``: the ids of journeys whose latest version takes new entries."""

    versions: tuple[JourneySpec, ...] = ()
    open: frozenset[str] = frozenset()

    @classmethod
    def of(cls, specs: tuple[JourneySpec, ...] | list[JourneySpec]) -> Catalog:
        """Every spec in use and open for entry (tests, the demo, a static setup)."""
        return cls(versions=tuple(specs), open=frozenset(s.id for s in specs))
