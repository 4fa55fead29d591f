"""A segment's condition compiled once into closures (one per node), so that evaluating it
is a few calls, not a walk that tells the kinds of nodes apart at every event. The semantics
are those of :func:`compare.compare` and of the leaves' docstrings (``nodes``).
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from juncture.core.profile.model import ProfileConfig
from juncture.core.segments.compare import lookup, predicate
from juncture.core.segments.facts import rfm_score
from juncture.core.segments.nodes import (
    All,
    AnyOf,
    Condition,
    ConsentIs,
    FactIs,
    Not,
    NotPerformedSince,
    Performed,
    RfmIs,
    TraitIs,
    reads_clock,
)

# The sorted times each behaviour leaf matched (``conditions.hits_of``), by the leaf's ``id``.
Hits = Mapping[int, Sequence[dt.datetime]]
# A compiled condition: is it true of these facts and matched behaviour at ``now``?
Test = Callable[[Mapping[str, Any], Hits, dt.datetime], bool]


def compile_test(node: Condition, config: ProfileConfig, out: dict[int, Test]) -> Test:
    """The test of ``node``; the test of every node below it goes into ``out``, by ``id``."""
    test: Test
    if isinstance(node, All | AnyOf):
        items = tuple(compile_test(i, config, out) for i in node.items)
        test = _every(items) if isinstance(node, All) else _some(items)
    elif isinstance(node, Not):
        test = _negated(compile_test(node.item, config, out))
    else:
        test = _leaf_test(node, config)
    out[id(node)] = test
    return test


def _every(items: tuple[Test, ...]) -> Test:
    def every(facts: Mapping[str, Any], hits: Hits, now: dt.datetime) -> bool:
        for item in items:  # noqa: SIM110 - a loop: all() of a generator costs more
            if not item(facts, hits, now):
                return False
        return True

    return every


def _some(items: tuple[Test, ...]) -> Test:
    def some(facts: Mapping[str, Any], hits: Hits, now: dt.datetime) -> bool:
        for item in items:  # noqa: SIM110 - a loop: any() of a generator costs more
            if item(facts, hits, now):
                return True
        return False

    return some


def _negated(item: Test) -> Test:
    def negated(facts: Mapping[str, Any], hits: Hits, now: dt.datetime) -> bool:
        return not item(facts, hits, now)

    return negated


def _leaf_test(node: Condition, config: ProfileConfig) -> Test:
    if isinstance(node, FactIs):
        return _fact_test(node)
    if isinstance(node, TraitIs):
        return _trait_test(node)
    if isinstance(node, ConsentIs):
        return _consent_test(node)
    if isinstance(node, RfmIs):
        return _rfm_test(node, config)
    if isinstance(node, Performed):
        return _performed_test(node)
    if isinstance(node, NotPerformedSince):
        return _not_performed_test(node)
    raise TypeError(f"not a segment condition: {node!r}")


def _fact_test(node: FactIs) -> Test:
    key = node.fact
    if reads_clock(node):
        window, within = node.value, node.op == "within"

        # within d: later than now - d; before d: at or before now - d.
        def timed(facts: Mapping[str, Any], hits: Hits, now: dt.datetime) -> bool:  # noqa: ARG001
            value = facts.get(key)
            return value is not None and bool(value > now - window) == within

        return timed
    holds = predicate(node.op, node.value)

    def fact(facts: Mapping[str, Any], hits: Hits, now: dt.datetime) -> bool:  # noqa: ARG001
        return holds(facts.get(key))

    return fact


def _trait_test(node: TraitIs) -> Test:
    path, holds = node.path, predicate(node.op, node.value)

    def trait(facts: Mapping[str, Any], hits: Hits, now: dt.datetime) -> bool:  # noqa: ARG001
        return holds(lookup(facts.get("traits"), path))

    return trait


def _consent_test(node: ConsentIs) -> Test:
    key, granted = f"{node.channel}:{node.purpose}", node.granted

    def consent(facts: Mapping[str, Any], hits: Hits, now: dt.datetime) -> bool:  # noqa: ARG001
        return (facts.get("consent") or {}).get(key) is granted

    return consent


def _rfm_test(node: RfmIs, config: ProfileConfig) -> Test:
    score, holds = node.score, predicate(node.op, node.value)

    def rfm(facts: Mapping[str, Any], hits: Hits, now: dt.datetime) -> bool:  # noqa: ARG001
        return holds(rfm_score(score, facts, now, config))

    return rfm


def _performed_test(node: Performed) -> Test:
    key, window, least, most = id(node), node.within, node.at_least, node.at_most

    def performed(facts: Mapping[str, Any], hits: Hits, now: dt.datetime) -> bool:  # noqa: ARG001
        n = _count(hits[key], now - window, now)
        return (least is None or n >= least) and (most is None or n <= most)

    return performed


def _not_performed_test(node: NotPerformedSince) -> Test:
    key = id(node)

    def not_performed(facts: Mapping[str, Any], hits: Hits, now: dt.datetime) -> bool:
        return _count(hits[key], _anchor(node, facts, now), now) == 0

    return not_performed


def compile_stays_false(node: Condition, tests: Mapping[int, Test]) -> Test | None:
    """Whether time alone cannot make ``node`` true, given its facts and matched behaviour
    at ``now`` (None: no such test, it may always become true): a false leaf that does not
    read the clock, or too few matching events at any time, in a conjunction. The facts
    are those at ``now`` for every instant ``timing.changes_at`` looks at (the stage
    included: time moves it, but the stage's own timer answers that)."""
    if isinstance(node, All | AnyOf):
        parts = [compile_stays_false(i, tests) for i in node.items]
        if isinstance(node, All):
            found = tuple(p for p in parts if p is not None)
            return _some(found) if found else None
        return None if any(p is None for p in parts) else _every(tuple(filter(None, parts)))
    if isinstance(node, FactIs | TraitIs | ConsentIs | RfmIs) and not reads_clock(node):
        return _negated(tests[id(node)])
    if isinstance(node, Performed) and node.at_least:
        return _too_few(id(node), node.at_least)
    return None


def _too_few(key: int, least: int) -> Test:
    def too_few(facts: Mapping[str, Any], hits: Hits, now: dt.datetime) -> bool:  # noqa: ARG001
        return len(hits[key]) < least

    return too_few


def never(facts: Mapping[str, Any], hits: Hits, now: dt.datetime) -> bool:  # noqa: ARG001
    return False


def _count(times: Sequence[dt.datetime], after: dt.datetime, now: dt.datetime) -> int:
    """Events in ``(after, now]``."""
    return max(0, bisect.bisect_right(times, now) - bisect.bisect_right(times, after))


def _anchor(node: NotPerformedSince, facts: Mapping[str, Any], now: dt.datetime) -> dt.datetime:
    start = now - node.within
    fact = facts.get(node.since_fact) if node.since_fact else None
    return max(fact, start) if isinstance(fact, dt.datetime) else start
