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

Times = dict[int, list[dt.datetime]]


class HitMemo:
    """Mutable memo of one commit's working set (the core stays pure per call: the answer
    is always what :func:`conditions.hits_of` gives for the same events)."""

    def __init__(self, segments: Sequence[seg.Segment]) -> None:
        # per event name: the leaves reading it, each by its key and its compiled filters
        self._by_name: dict[str, list[tuple[int, seg.Match]]] = {}
        for s in segments:
            for leaf, match in zip(s.leaves, s.matches, strict=True):
                self._by_name.setdefault(leaf.event, []).append((id(leaf), match))
        self._keys = [key for leaves in self._by_name.values() for key, _ in leaves]
        # per profile: (the stored list matched, how many of its events, the times by leaf)
        self._rows: dict[str, tuple[Sequence[seg.BehaviourEvent], int, Times]] = {}

    def hits(
        self, pid: str, stored: Sequence[seg.BehaviourEvent], new: Sequence[seg.BehaviourEvent]
    ) -> Times:
        """The times each leaf matched in ``stored`` followed by ``new`` (``new`` is not
        remembered: the runtime appends it to ``stored`` once the step is kept)."""
        row = self._rows.get(pid)
        if row is None or row[0] is not stored or row[1] > len(stored):
            found: Times = {key: [] for key in self._keys}
            start = 0
        else:
            _, start, found = row
        for event in stored[start:]:
            for key, match in self._by_name.get(event.name, ()):
                if match(event.properties):
                    bisect.insort(found[key], event.timestamp)
        self._rows[pid] = (stored, len(stored), found)
        out = found  # copied when a new event matches: ``found`` holds the stored ones only
        for event in new:
            for key, match in self._by_name.get(event.name, ()):
                if match(event.properties):
                    if out is found:
                        out = dict(found)
                    if out[key] is found[key]:
                        out[key] = list(found[key])
                    bisect.insort(out[key], event.timestamp)
        return out
