"""Which segments an event can move: the index of real-time evaluation.

An event re-evaluates a segment only when it can change the segment's answer or the moment
time alone next changes it (the profile's segment timer); every other membership stands.
Per segment, :func:`watch_of` compiles once what can move it:

- a new event that one of its behaviour leaves **matches** (name and ``where`` filters): a
  view of a dress does not move "viewed running shoes 3 times";
- a fact that a leaf reading the clock reads (``last_seen within 30d``, the RFM recency,
  a ``not_performed ... since`` fact) **changing value**: the moment its window ends moves;
- a time-free leaf (a fact compared with a value, a trait, a consent, the frequency and
  monetary scores) **changing its answer**: a new city moves "city eq Berlin" only when it
  moves into or out of Berlin, a new trait moves only the leaves that read it;
- the stage, which time moves between events (its own timer may still be due), at every
  event: unless the guard below rules the segment out.

The **guard** is the conjunction of the condition's time-free top-level conjuncts (``country
in [DE, AT, CH]`` of "active in DACH", ``stage eq lapsed``): when it is false of the profile
after the event, the segment is false now and stays false while time alone passes, so a
profile that is not a member needs nothing evaluated, whatever else moved. A segment whose
answer is moved by time alone is the segment timer's business, never an event's.

A guard's conjuncts that do not read the stage are functions of a few fields of the profile
alone, so once one is found false of a profile it stays false until one of those fields
is replaced (the reducer replaces what it changes): :class:`Index` remembers, per profile,
the segments such a conjunct ruled out of the profile's last version, and tests them again
only when the event replaced a field they read (a view in Paris never re-reads the country
for "active in DACH"). A conjunct reading the stage is tested at every event: time moves
the stage.

:func:`moves` answers for one segment; :class:`Change` computes each fact of the profile
before and after the event once, and only when asked.
"""

from __future__ import annotations

import datetime as dt
import functools
import operator
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import compress
from typing import Any, Final

from juncture.core.profile.model import Profile
from juncture.core.segments import compare, facts
from juncture.core.segments.compiled import Test
from juncture.core.segments.facts import Reader
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
    walk,
)

_NO_HITS: Final[Mapping[int, Any]] = {}
# Facts that cost more to compute than a lookup: a guard tests them last.
_COSTLY: Final = frozenset({"stage", "traits", "consent", "top_category"})
# The facts each RFM score is computed from (``facts.rfm_score``).
_RFM_READS: Final = {
    "recency": frozenset({"last_order_at"}),
    "frequency": frozenset({"last_order_at", "order_count"}),
    "monetary": frozenset({"last_order_at", "revenue"}),
}


@dataclass(frozen=True, slots=True)
class Watch:
    """What can move one segment's answer at an event (see the module docstring)."""

    facts: frozenset[str]  # every fact it reads (keys of ``facts.facts_of``)
    fields: frozenset[str]  # the fields of the profile those facts are read from
    names: frozenset[str]  # the events its behaviour leaves read
    leaves: tuple[tuple[str, compare.Match], ...]  # per behaviour leaf: event and filters
    clocked: frozenset[str]  # facts read by a leaf that reads the clock: a new value moves
    steady: tuple[tuple[frozenset[str], Test], ...]  # time-free leaves: the facts they read
    always: bool  # reads the stage: every event, unless the guard rules it out
    # The guard: the time-free top-level conjuncts, all true for it to hold, each with the
    # facts it reads (and how each is read: ``facts.reader``), the cheapest first; those
    # that read only facts of the profile's fields (``guard``, a false one is remembered
    # until one of ``guard_fields`` is replaced), then those that read the stage
    # (``staged``, tested at every event: time moves the stage).
    guard: tuple[tuple[tuple[tuple[str, Reader], ...], Test], ...]
    staged: tuple[tuple[tuple[tuple[str, Reader], ...], Test], ...] = ()
    guard_fields: frozenset[str] = frozenset()


def fact_keys(node: Condition) -> frozenset[str]:
    """The facts (keys of ``facts.facts_of``) a leaf reads."""
    if isinstance(node, FactIs):
        return frozenset((node.fact,))
    if isinstance(node, TraitIs):
        return frozenset(("traits",))
    if isinstance(node, ConsentIs):
        return frozenset(("consent",))
    if isinstance(node, RfmIs):
        return _RFM_READS[node.score]
    if isinstance(node, NotPerformedSince) and node.since_fact:
        return frozenset((node.since_fact,))
    return frozenset()


def watch_of(
    condition: Condition, tests: Mapping[int, Test], matches: Sequence[compare.Match]
) -> Watch:
    """The index of one condition, from its compiled ``tests`` (by node ``id``) and the
    filters of its behaviour leaves (``matches``, depth first)."""
    leaves = [n for n in walk(condition) if not isinstance(n, All | AnyOf | Not)]
    behaviour = [n for n in leaves if isinstance(n, Performed | NotPerformedSince)]
    read = frozenset().union(*(fact_keys(n) for n in leaves))
    clocked = frozenset().union(*(fact_keys(n) for n in leaves if reads_clock(n) or _since(n)))
    steady = tuple(
        (fact_keys(n), tests[id(n)])
        for n in leaves
        if fact_keys(n) and not reads_clock(n) and not isinstance(n, Performed | NotPerformedSince)
    )
    conjuncts = condition.items if isinstance(condition, All) else (condition,)
    guard = [
        (tuple((k, facts.reader(k)) for k in sorted(_keys(c))), tests[id(c)])
        for c in conjuncts
        if _time_free(c)
    ]
    guard.sort(key=lambda g: any(k in _COSTLY for k, _ in g[0]))  # stable: else in order
    # a conjunct reading a fact with no fields (the stage: time moves it) is not remembered
    free = [g for g in guard if all(k in facts.FACT_FIELDS for k, _ in g[0])]
    staged = [g for g in guard if g not in free]
    return Watch(
        facts=read,
        fields=frozenset(f for key in read for f in facts.FACT_FIELDS.get(key, ())),
        names=frozenset(n.event for n in behaviour),
        leaves=tuple((n.event, m) for n, m in zip(behaviour, matches, strict=True)),
        clocked=clocked,
        steady=steady,
        always=any(key not in facts.FACT_FIELDS for key in read),  # the stage
        guard=tuple(free),
        staged=tuple(staged),
        guard_fields=frozenset(
            f for reads, _ in free for k, _ in reads for f in facts.FACT_FIELDS[k]
        ),
    )


def _keys(node: Condition) -> frozenset[str]:
    """The facts a subtree reads."""
    return frozenset().union(*(fact_keys(n) for n in walk(node)))


def _since(node: Condition) -> bool:
    return isinstance(node, NotPerformedSince) and node.since_fact is not None


def _time_free(node: Condition) -> bool:
    """Whether a subtree's answer depends on facts alone (at one time), not on events or the
    clock; the stage counts as a fact (its moves by time have their own timer)."""
    return all(
        not reads_clock(n) and not isinstance(n, Performed | NotPerformedSince) for n in walk(node)
    )


class Change:
    """One profile before and after an event at ``now``: which of its fields the event
    replaced (the reducer replaces what it changes), and each fact computed once, when first
    asked (those of ``after`` go into ``after``, which the evaluation then reads)."""

    __slots__ = ("_changed", "after", "before", "moved", "now", "profile", "profiles")

    def __init__(
        self,
        before: Profile,
        after: Profile,
        now: dt.datetime,
        known: dict[str, Any],
        fields: Iterable[str] = facts.FIELDS,
    ) -> None:
        """``fields``: those of the profile to compare (the others count as kept: give at
        least the fields of every fact that will be asked, ``Index.fields``)."""
        self.profiles = (before, after)
        self.profile = after
        self.now = now
        names = fields if isinstance(fields, tuple) else tuple(fields)
        read = _reader(names)  # (the fields compared in C: this runs at every event)
        self.moved = frozenset(compress(names, map(operator.is_not, read(before), read(after))))
        self.after = known
        self.before: dict[str, Any] = {}
        self._changed: dict[str, bool] | None = None  # made when first asked

    def fact(self, key: str) -> Any:
        """The fact of the profile after the event."""
        if key not in self.after:
            self.after[key] = facts.fact_of(self.profiles[1], key, self.now)
        return self.after[key]

    def changed(self, key: str) -> bool:
        """Whether the fact differs before and after the event (both at ``now``)."""
        if self._changed is None:
            self._changed = {}
        found = self._changed.get(key)
        if found is None:
            fields = facts.FACT_FIELDS.get(key)
            kept = fields is not None and self.moved.isdisjoint(fields)
            found = not kept and bool(self._prior(key) != self.fact(key))
            self._changed[key] = found
        return found

    def _prior(self, key: str) -> Any:
        if key not in self.before:
            self.before[key] = facts.fact_of(self.profiles[0], key, self.now)
        return self.before[key]

    def answer_moved(self, keys: Iterable[str], test: Test) -> bool:
        """Whether a time-free leaf reading ``keys`` answers differently after the event."""
        for key in keys:
            self.fact(key)
            self._prior(key)
        return test(self.before, _NO_HITS, self.now) != test(self.after, _NO_HITS, self.now)


_READERS: Final[dict[tuple[str, ...], Callable[[Profile], tuple[Any, ...]]]] = {}


def _reader(fields: tuple[str, ...]) -> Callable[[Profile], tuple[Any, ...]]:
    """A function that reads ``fields`` of a profile as a tuple (made once per fields)."""
    found = _READERS.get(fields)
    if found is None:
        if len(fields) > 1:
            found = operator.attrgetter(*fields)
        else:
            found = functools.partial(_fields, fields)
        _READERS[fields] = found
    return found


def _fields(fields: tuple[str, ...], profile: Profile) -> tuple[Any, ...]:
    return tuple(getattr(profile, f) for f in fields)


def moves(
    watch: Watch,
    member: bool,
    change: Change,
    new: Iterable[tuple[str, Mapping[str, Any]]],
) -> bool:
    """Whether the event can move the segment's answer or its next change by time, for a
    profile whose stored membership (``member``) is that of the profile before the event at
    ``change.now``; ``new``: the name and properties of each event the step adds. (The
    segments nothing of the event touches are ruled out before: :class:`Index`.)"""
    if not member and _ruled_out(watch, change):
        return False  # false now, and time alone cannot make it true
    return _can_move(watch, change, new)


def _can_move(watch: Watch, change: Change, new: Iterable[tuple[str, Mapping[str, Any]]]) -> bool:
    return watch.always or _matched(watch, new) or _facts_moved(watch, change)


def _ruled_out(watch: Watch, change: Change) -> bool:
    """The guard is false of the profile after the event (each conjunct's facts computed
    only when it is tested)."""
    return _false(watch.guard, change) or _false(watch.staged, change)


def _false(
    conjuncts: tuple[tuple[tuple[tuple[str, Reader], ...], Test], ...], change: Change
) -> bool:
    """One of ``conjuncts`` is false of the profile after the event."""
    known, profile, now = change.after, change.profile, change.now
    for reads, test in conjuncts:
        for key, read in reads:
            if key not in known:
                known[key] = read(profile, now)
        if not test(known, _NO_HITS, now):
            return True
    return False


def _matched(watch: Watch, new: Iterable[tuple[str, Mapping[str, Any]]]) -> bool:
    """A new event matches a behaviour leaf (its name and filters)."""
    if not watch.names:
        return False
    for name, properties in new:
        if name in watch.names:
            for leaf, match in watch.leaves:
                if leaf == name and match(properties):
                    return True
    return False


def _facts_moved(watch: Watch, change: Change) -> bool:
    """A fact read by a leaf that reads the clock changed, or a time-free leaf's answer."""
    if not watch.clocked and not watch.steady:
        return False
    for key in watch.clocked:
        if change.changed(key):
            return True
    for keys, test in watch.steady:
        if any(change.changed(k) for k in keys) and change.answer_moved(keys, test):
            return True
    return False


class Index:
    """The watches of a set of segments (each segment's ``watch``, by its id) by what
    touches them: an event looks up the fields of the profile it replaced and the names of
    the events it adds, and asks :func:`moves` only of the segments these touch, in their
    order.

    It remembers, per profile, the segments whose guard (its conjuncts that read no stage)
    was false of the profile's last version it saw (``ruled``: that version, and the
    segments as bits): at the profile's next event, from that very version, those of them
    whose guard reads no field the event replaced are still ruled out, and their guard is
    not tested again. (Mutable, like ``hits.HitMemo``: kept with the working set; a
    profile whose memberships are out of date is answered as :meth:`possible` says.)"""

    __slots__ = (
        "_always", "_by_field", "_by_name", "_guarded", "fields", "ids", "ruled", "watches",
    )  # fmt: skip

    def __init__(self, watches: Sequence[tuple[str, Watch]]) -> None:
        self.ids = tuple(sid for sid, _ in watches)
        self.watches = tuple(w for _, w in watches)
        # the segments as bits of an int (bit i: the i-th segment), by what touches them
        self._by_field: dict[str, int] = {}
        self._by_name: dict[str, int] = {}
        self._guarded: dict[str, int] = {}  # by a field their guard reads
        self._always = 0
        for i, w in enumerate(self.watches):
            for f in w.fields:
                self._by_field[f] = self._by_field.get(f, 0) | 1 << i
            for n in w.names:
                self._by_name[n] = self._by_name.get(n, 0) | 1 << i
            for f in w.guard_fields:
                self._guarded[f] = self._guarded.get(f, 0) | 1 << i
            if w.always:
                self._always |= 1 << i
        # Every field a segment reads: a :class:`Change` for these segments compares these.
        self.fields = tuple(sorted(self._by_field))
        self.ruled: dict[str, tuple[Profile, int]] = {}

    def moving(
        self,
        member_of: Collection[str],
        change: Change,
        new: Sequence[tuple[str, Mapping[str, Any]]],
    ) -> list[int]:
        """The positions of the segments the event can move (:func:`moves`), for a profile
        in the segments ``member_of``."""
        touched = self._always
        for f in change.moved:
            touched |= self._by_field.get(f, 0)
        for name, _ in new:
            touched |= self._by_name.get(name, 0)
        ruled = self._still_ruled(change)
        found, i, ids, watches = [], 0, self.ids, self.watches
        while touched:  # (:func:`moves` inlined: it runs for a few segments at every event)
            if touched & 1:
                w = watches[i]
                if ids[i] not in member_of:
                    if ruled >> i & 1:
                        pass  # its guard was false and reads nothing the event replaced
                    elif w.guard and _false(w.guard, change):
                        ruled |= 1 << i
                    elif not (w.staged and _false(w.staged, change)) and (
                        w.always or _matched(w, new) or _facts_moved(w, change)
                    ):
                        found.append(i)
                elif w.always or _matched(w, new) or _facts_moved(w, change):
                    found.append(i)
            touched >>= 1
            i += 1
        self.ruled[change.profile.profile_id] = (change.profile, ruled)
        return found

    def possible(self, member_of: Collection[str], change: Change) -> list[int]:
        """The positions of the segments that may hold after the event or did before it:
        all but those whose guard rules them out for a profile not in them (what an event
        of a profile whose memberships may be out of date evaluates)."""
        ruled = self._still_ruled(change)
        found = []
        for i, w in enumerate(self.watches):
            if self.ids[i] in member_of:
                found.append(i)
            elif not ruled >> i & 1:
                if _false(w.guard, change):
                    ruled |= 1 << i
                elif not _false(w.staged, change):
                    found.append(i)
        self.ruled[change.profile.profile_id] = (change.profile, ruled)
        return found

    def _still_ruled(self, change: Change) -> int:
        """The segments remembered as ruled out of the profile before the event whose guard
        reads no field the event replaced (none when the profile before the event is not
        the version remembered)."""
        before, after = change.profiles
        seen = self.ruled.get(after.profile_id)
        if seen is None or seen[0] is not before or not seen[1]:
            return 0
        ruled = seen[1]
        for f in change.moved:
            ruled &= ~self._guarded.get(f, 0)
        return ruled
