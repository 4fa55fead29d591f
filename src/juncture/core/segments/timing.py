"""When time alone changes a segment's answer: :func:`changes_at` finds the first moment after
``now`` at which a profile's membership flips with no new event and no fact changing (an
event sliding out of a window, a time fact crossing ``within``/``before``, an RFM recency
threshold), so that the runtime schedules one timer instead of polling.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Final

from juncture.core.segments.conditions import (
    BehaviourEvent,
    FactIs,
    Hits,
    NotPerformedSince,
    Performed,
    RfmIs,
    Segment,
    hits_of,
)

_TICK: Final = dt.timedelta(microseconds=1)


def changes_at(
    segment: Segment,
    facts: Mapping[str, Any],
    behaviour: Sequence[BehaviourEvent],
    now: dt.datetime,
    *,
    hits: Hits | None = None,
    before: dt.datetime | None = None,
    current: bool | None = None,
) -> dt.datetime | None:
    """The next moment after ``now`` at which time alone (no new event, no fact change)
    changes membership; None if it never does, or not before ``before`` (the caller wants
    the earliest moment over several segments and has one already).

    Candidates are the instants where a leaf can flip: an event sliding out of a window, a
    time fact crossing ``within``/``before``, an RFM recency threshold; the first one where
    the answer differs from the answer at ``now`` is returned. ``hits``: :func:`hits_of`
    when the caller has it; ``current``: the answer at ``now`` when the caller has it.
    """
    if hits is None:
        hits = hits_of(segment, behaviour)
    if current is None:
        current = segment.test(facts, hits, now)
    if not current and segment.stays_false(facts, hits, now):
        return None
    for t in sorted(_candidates(segment, facts, hits, now)):
        if before is not None and t >= before:
            return None
        if segment.test(facts, hits, t) != current:
            return t
    return None


def _flips(
    node: Performed | NotPerformedSince,
    segment: Segment,
    facts: Mapping[str, Any],
    hits: Hits,
    now: dt.datetime,
) -> list[dt.datetime]:
    """The instants after ``now`` at which this behaviour leaf's own answer changes: only
    its matching events entering (future-dated) or leaving its window can move its count,
    and only a count crossing a bound changes the answer, so the whole condition need only
    be evaluated at these."""
    times = hits[id(node)]
    if times and times[-1] > now:  # a future-dated event: every moment one enters or leaves
        moments = sorted({t for h in times for t in (h, h + node.within) if t > now})
    else:
        moments = _leaving(node, times, now)
    test = segment.tests[id(node)]
    flips = []
    answer = test(facts, hits, now)
    for t in moments:
        at_t = test(facts, hits, t)
        if at_t != answer:
            flips.append(t)
            answer = at_t
    return flips


def _leaving(
    node: Performed | NotPerformedSince, times: Sequence[dt.datetime], now: dt.datetime
) -> list[dt.datetime]:
    """With every matching event at or before ``now`` the leaf's count only falls, one event
    leaving the window at a time (the ``k + 1``-th latest leaves at ``times[-k - 1] +
    within``, and from then on at most ``k`` are inside), so its answer can only change
    where the count falls to ``at_most`` or below ``at_least`` (for a performed leaf), or
    to none (the latest event leaving, for a not-performed one): the moments where
    :func:`_flips` need look, in order."""
    n = len(times)
    bounds: tuple[int, ...]
    if isinstance(node, NotPerformedSince):
        bounds = (0,)
    else:
        bounds = tuple(
            k for k in (node.at_most, None if node.at_least is None else node.at_least - 1)
            if k is not None
        )  # fmt: skip
    moments = {times[n - k - 1] + node.within for k in bounds if 0 <= k < n}
    return sorted(t for t in moments if t > now)


def _candidates(
    segment: Segment,
    facts: Mapping[str, Any],
    hits: Hits,
    now: dt.datetime,
) -> set[dt.datetime]:
    out: set[dt.datetime] = set()
    for node in segment.nodes:
        if isinstance(node, Performed | NotPerformedSince):
            out.update(_flips(node, segment, facts, hits, now))
        elif isinstance(node, FactIs) and node.op in ("within", "before"):
            value = facts.get(node.fact)
            if isinstance(value, dt.datetime):
                out.add(value + node.value)
        elif isinstance(node, RfmIs) and node.score == "recency":
            last = facts.get("last_order_at")
            if isinstance(last, dt.datetime):
                out.update(last + dt.timedelta(days=d) + _TICK for d in segment.config.recency_days)
    return {t for t in out if t > now}
