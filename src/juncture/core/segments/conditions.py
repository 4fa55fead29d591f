"""Segments: named conditions over a profile's facts and recent behaviour, evaluated purely.

A :class:`Segment` holds one condition tree (``nodes``: facts, traits, consent, RFM scores,
events performed or not, combined with all/any/not). :func:`evaluate` decides membership
from facts (``facts.facts_of``, or those of them that ``segment.watch.facts`` names) and
the events inside ``segment.lookback`` before ``now``, through the tree compiled once per
segment into closures (``compiled``); ``timing.changes_at`` says when time alone can next
change the answer, so that the runtime can schedule one timer, and ``index`` which events
can change it. ``store/segments.py`` compiles the same tree to SQL with identical semantics.

This module is the segments' public face: the names of ``nodes``, ``facts`` and ``compare``
that callers use are also reachable here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec

from juncture.core.profile.model import DEFAULT_CONFIG, ProfileConfig
from juncture.core.segments.compare import Match, compare, lookup, predicate, where_test
from juncture.core.segments.compiled import Hits, Test, compile_stays_false, compile_test, never
from juncture.core.segments.facts import (
    CHANNELS,
    FACTS,
    PURPOSES,
    RFM_SCORES,
    consent_facts,
    fact_kept,
    fact_of,
    facts_of,
    rfm_score,
)
from juncture.core.segments.index import Watch, watch_of
from juncture.core.segments.nodes import (
    DEFAULT_CAP,
    OPS,
    All,
    AnyOf,
    Condition,
    ConsentIs,
    FactIs,
    Not,
    NotPerformedSince,
    Performed,
    PropertyIs,
    RfmIs,
    TraitIs,
    walk,
)

__all__ = [
    "CHANNELS", "DEFAULT_CAP", "FACTS", "OPS", "PURPOSES", "RFM_SCORES",
    "All", "AnyOf", "BehaviourEvent", "Condition", "ConsentIs", "FactIs", "Hits", "Match",
    "Not", "NotPerformedSince", "Performed", "PropertyIs", "RfmIs", "Segment", "Test",
    "TraitIs", "compare", "consent_facts", "evaluate", "evaluate_hits", "fact_kept", "fact_of",
    "facts_of", "group_by_name", "hits_of", "lookup", "predicate", "rfm_score", "walk",
    "where_test",
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class Segment:
    id: str
    name: str
    condition: Condition
    description: str = ""
    config: ProfileConfig = field(default=DEFAULT_CONFIG, compare=False)
    # What can move its answer at an event (``index.watch_of``).
    watch: Watch = field(init=False, compare=False, repr=False)
    # Every node of the condition, depth first (:func:`walk`), and its behaviour leaves.
    nodes: tuple[Condition, ...] = field(init=False, compare=False, repr=False)
    leaves: tuple[Performed | NotPerformedSince, ...] = field(init=False, compare=False, repr=False)
    # The condition compiled (``compiled.compile_test``): the test of each node, by its
    # ``id``, and a cheap, safe test that time alone cannot make it true.
    tests: Mapping[int, Test] = field(init=False, compare=False, repr=False)
    stays_false: Test = field(init=False, compare=False, repr=False)
    # Per behaviour leaf, in order: its ``where`` compiled (``compare.where_test``).
    matches: tuple[Match, ...] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        nodes = tuple(walk(self.condition))
        object.__setattr__(self, "nodes", nodes)
        leaves = tuple(n for n in nodes if isinstance(n, Performed | NotPerformedSince))
        object.__setattr__(self, "leaves", leaves)
        object.__setattr__(self, "matches", tuple(where_test(n.where) for n in leaves))
        tests: dict[int, Test] = {}
        compile_test(self.condition, self.config, tests)
        object.__setattr__(self, "tests", tests)
        stays = compile_stays_false(self.condition, tests) or never
        object.__setattr__(self, "stays_false", stays)
        object.__setattr__(self, "watch", watch_of(self.condition, tests, self.matches))

    def test(self, facts: Mapping[str, Any], hits: Hits, now: dt.datetime) -> bool:
        """Whether a profile with these facts and matched behaviour is in the segment."""
        return self.tests[id(self.condition)](facts, hits, now)

    @property
    def lookback(self) -> dt.timedelta:
        """The longest window the segment reads: pass events in ``(now - lookback, now]``."""
        return max((w for w in _windows(self.condition)), default=dt.timedelta(0))


class BehaviourEvent(msgspec.Struct, frozen=True, gc=False):
    """One event of the profile: the track ``event`` name, its time and properties. The
    working set holds many of them for as long as the process runs: they refer to no
    object that could refer back, so the cycle collector does not track them."""

    name: str
    timestamp: dt.datetime
    properties: Mapping[str, Any] = {}


def _windows(condition: Condition) -> Iterator[dt.timedelta]:
    for node in walk(condition):
        if isinstance(node, Performed | NotPerformedSince):
            yield node.within


def hits_of(
    segment: Segment,
    behaviour: Sequence[BehaviourEvent],
    by_name: Mapping[str, Sequence[BehaviourEvent]] | None = None,
) -> dict[int, list[dt.datetime]]:
    """The sorted times of the events each behaviour leaf matches (by the leaf's ``id``):
    matching is done once, so evaluating at many times only counts. ``by_name``: the same
    events grouped by name (:func:`group_by_name`), when the caller matches several
    segments."""
    if by_name is None:
        by_name = group_by_name(behaviour)
    return {
        id(node): sorted(e.timestamp for e in by_name.get(node.event, ()) if match(e.properties))
        for node, match in zip(segment.leaves, segment.matches, strict=True)
    }


def group_by_name(behaviour: Sequence[BehaviourEvent]) -> dict[str, list[BehaviourEvent]]:
    """Events by name, in their order."""
    out: dict[str, list[BehaviourEvent]] = {}
    for e in behaviour:
        out.setdefault(e.name, []).append(e)
    return out


def evaluate(
    segment: Segment,
    facts: Mapping[str, Any],
    behaviour: Sequence[BehaviourEvent],
    now: dt.datetime,
) -> bool:
    """Whether a profile with these facts and events is in the segment at ``now``.

    ``behaviour`` must hold the profile's events in ``(now - segment.lookback, now]`` (more
    is fine: events outside a condition's window are ignored).
    """
    return evaluate_hits(segment, facts, hits_of(segment, behaviour), now)


def evaluate_hits(segment: Segment, facts: Mapping[str, Any], hits: Hits, now: dt.datetime) -> bool:
    """:func:`evaluate` with the behaviour already matched (:func:`hits_of`)."""
    return segment.test(facts, hits, now)
