"""The journeys the engine runs with: every version in use, and which journeys take entries."""

from __future__ import annotations

from dataclasses import dataclass, field

from juncture.core.journeys.spec import JourneySpec, WaitUntilEvent


@dataclass(frozen=True, slots=True)
class Catalog:
    """``versions``: every version an enrollment may still run on (active, paused,
    superseded); ``open``: the ids of journeys whose latest version takes new entries."""

    versions: tuple[JourneySpec, ...] = ()
    open: frozenset[str] = frozenset()
    triggers: frozenset[str] = field(init=False)  # event names that may start an enrollment
    listens: frozenset[str] = field(init=False)  # event names any version reacts to at all

    def __post_init__(self) -> None:
        names = {t.match.event for j in self.versions if j.id in self.open for t in j.triggers}
        object.__setattr__(self, "triggers", frozenset(names))
        heard = set(names)
        for j in self.versions:
            heard.update(m.event for m in j.exits)
            if j.goal is not None:
                heard.add(j.goal.match.event)
            for node in j.nodes.values():
                if isinstance(node, WaitUntilEvent):
                    heard.add(node.match.event)
                    if node.reset is not None:
                        heard.add(node.reset.event)
        object.__setattr__(self, "listens", frozenset(heard))

    @classmethod
    def of(cls, specs: tuple[JourneySpec, ...] | list[JourneySpec]) -> Catalog:
        """Every spec in use and open for entry (tests, the demo, a static setup)."""
        return cls(versions=tuple(specs), open=frozenset(s.id for s in specs))
