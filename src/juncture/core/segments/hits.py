"""Behaviour leaves matched incrementally: per profile, the sorted times at which each
behaviour leaf of the active segments matched the profile's stored events, kept across the
events of a commit so that an event matches only what is new, not the whole history again.

:class:`HitMemo` answers :func:`conditions.hits_of` for every active segment at once (one
mapping keyed by leaf ``id``, as :func:`conditions.evaluate_hits` reads it). It relies on
the runtime only ever appending to a profile's stored event list (the working set's
``Context.behaviour``): a list it has not seen, or one shorter than it has matched, is
matched again from the start.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Sequence

from juncture.core.segments import conditions as seg

Leaf = seg.Performed | seg.NotPerformedSince
Times = dict[int, list[dt.datetime]]


class HitMemo:
    """Mutable memo of one commit's working set (the core stays pure per call: the answer
    is always what :func:`conditions.hits_of` gives for the same events)."""

    def __init__(self, segments: Sequence[seg.Segment]) -> None:
        self._by_name: dict[str, list[Leaf]] = {}
        for s in segments:
            for leaf in s.leaves:
                self._by_name.setdefault(leaf.event, []).append(leaf)
        self._leaves = [leaf for leaves in self._by_name.values() for leaf in leaves]
        # per profile: (the stored list matched, how many of its events, the times by leaf)
        self._rows: dict[str, tuple[Sequence[seg.BehaviourEvent], int, Times]] = {}

    def hits(
        self, pid: str, stored: Sequence[seg.BehaviourEvent], new: Sequence[seg.BehaviourEvent]
    ) -> Times:
        """The times each leaf matched in ``stored`` followed by ``new`` (``new`` is not
        remembered: the runtime appends it to ``stored`` once the step is kept)."""
        row = self._rows.get(pid)
        if row is None or row[0] is not stored or row[1] > len(stored):
            found: Times = {id(leaf): [] for leaf in self._leaves}
            start = 0
        else:
            _, start, found = row
        for event in stored[start:]:
            for leaf in self._by_name.get(event.name, ()):
                if seg.matches(event, leaf.event, leaf.where):
                    bisect.insort(found[id(leaf)], event.timestamp)
        self._rows[pid] = (stored, len(stored), found)
        if not new:
            return found
        out = dict(found)
        for event in new:
            for leaf in self._by_name.get(event.name, ()):
                if seg.matches(event, leaf.event, leaf.where):
                    key = id(leaf)
                    if out[key] is found[key]:
                        out[key] = list(found[key])
                    bisect.insort(out[key], event.timestamp)
        return out
