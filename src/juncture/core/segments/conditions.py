"""Segments: named conditions over a profile's facts and recent behaviour, evaluated purely.

A :class:`Segment` holds one condition tree. Leaves are

- :class:`FactIs`: a fact of the ``profiles`` table (:data:`FACTS`), e.g. ``city eq Berlin``,
  ``last_order_at within 90d``, ``email exists``;
- :class:`TraitIs`: a dotted path into the traits, compared only with values of the
  comparand's type (a string trait never equals the number 5); a list trait is matched by
  ``contains`` (it holds the value) and ``in`` (it holds one of the values);
- :class:`ConsentIs`: the resolved consent for ``channel:purpose`` (None: never stated);
- :class:`RfmIs`: a recency/frequency/monetary score (1-5) computed at ``now``;
- :class:`Performed`: event X, optionally filtered on its properties, at least and/or at
  most N times in the window ``(now - within, now]``;
- :class:`NotPerformedSince`: no event Y after an anchor, ``now - within`` or a time fact
  such as ``last_order_at`` (never further back than ``within``);

combined with :class:`All`, :class:`AnyOf` and :class:`Not`. Missing values (None) make
every comparison false except ``missing``.

:func:`evaluate` decides membership from facts (:func:`facts_of`, or those of them that
``segment.reads``) and the events inside ``segment.lookback`` before ``now``,
through the tree compiled once per segment into closures (:func:`compile_test`);
``timing.changes_at`` says when time alone can next change the answer, so that the runtime
can schedule one timer. ``store/segments.py`` compiles the same tree to SQL with identical
semantics.
"""

from __future__ import annotations

import bisect
import datetime as dt
import operator
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from juncture.core import channels, stage
from juncture.core.collection import SHARING
from juncture.core.profile.affinity import top_affinity
from juncture.core.profile.consent import consent_for
from juncture.core.profile.model import DEFAULT_CONFIG, Profile, ProfileConfig

Op = Literal["eq", "ne", "in", "not_in", "contains", "gt", "gte", "lt", "lte", "exists", "missing"]
TimeOp = Literal["within", "before", "exists", "missing", "gt", "gte", "lt", "lte"]
Scalar = str | int | float | bool
# The sorted times each behaviour leaf matched (:func:`hits_of`), by the leaf's ``id``.
Hits = Mapping[int, Sequence[dt.datetime]]
# A compiled condition: is it true of these facts and matched behaviour at ``now``?
Test = Callable[[Mapping[str, Any], Hits, dt.datetime], bool]
Predicate = Callable[[Any], bool]
Match = Callable[[Mapping[str, Any]], bool]  # an event's properties pass its filters

OPS: Final = frozenset(
    {"eq", "ne", "in", "not_in", "contains", "gt", "gte", "lt", "lte", "exists", "missing"}
)
TIME_OPS: Final = frozenset({"within", "before", "exists", "missing", "gt", "gte", "lt", "lte"})
ORDER_OPS: Final = frozenset({"gt", "gte", "lt", "lte"})

# The facts: the typed columns of ``profiles``, by kind.
FACTS: Final[Mapping[str, str]] = {
    "stage": "str",
    "email": "str",
    "country": "str",
    "city": "str",
    "timezone": "str",
    "last_channel": "str",
    "top_category": "str",
    "order_count": "num",
    "revenue": "num",
    "cart_value": "num",
    "cart_items": "num",
    "sessions": "num",
    "nps": "num",
    "csat": "num",
    "first_seen": "time",
    "last_seen": "time",
    "last_order_at": "time",
}
CHANNELS: Final = channels.NAMES
PURPOSES: Final = ("marketing", "transactional")
RFM_SCORES: Final = ("recency", "frequency", "monetary")
DEFAULT_CAP: Final = dt.timedelta(days=365)


@dataclass(frozen=True, slots=True)
class FactIs:
    """``fact op value``. Time facts take ``within``/``before`` a duration (``value``)."""

    fact: str
    op: str
    value: Any = None


@dataclass(frozen=True, slots=True)
class TraitIs:
    path: tuple[str, ...]
    op: str
    value: Any = None


@dataclass(frozen=True, slots=True)
class ConsentIs:
    """Consent for ``channel:purpose`` is ``granted`` (True, False, or None: never stated)."""

    channel: str
    purpose: str
    granted: bool | None = True


@dataclass(frozen=True, slots=True)
class RfmIs:
    score: str
    op: str
    value: int


@dataclass(frozen=True, slots=True)
class PropertyIs:
    """A filter on an event's ``properties`` (dotted path), typed like :class:`TraitIs`."""

    path: tuple[str, ...]
    op: str
    value: Any = None


@dataclass(frozen=True, slots=True)
class Performed:
    """Event ``event`` matching ``where``, between ``at_least`` and ``at_most`` times in
    ``(now - within, now]``."""

    event: str
    within: dt.timedelta
    where: tuple[PropertyIs, ...] = ()
    at_least: int | None = 1
    at_most: int | None = None


@dataclass(frozen=True, slots=True)
class NotPerformedSince:
    """No ``event`` matching ``where`` in ``(anchor, now]``: the anchor is the time fact
    ``since_fact`` when set and later than ``now - within``, else ``now - within``."""

    event: str
    within: dt.timedelta = DEFAULT_CAP
    since_fact: str | None = None
    where: tuple[PropertyIs, ...] = ()


@dataclass(frozen=True, slots=True)
class All:
    items: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class AnyOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True, slots=True)
class Not:
    item: Condition


Condition = FactIs | TraitIs | ConsentIs | RfmIs | Performed | NotPerformedSince | All | AnyOf | Not


@dataclass(frozen=True, slots=True)
class Reads:
    """What can change a segment's answer besides time: events of ``names``, the facts
    ``facts`` (keys of :func:`facts_of`); ``always``: a fact that time changes without a
    timer (the stage), so every event must evaluate it."""

    names: frozenset[str]
    facts: frozenset[str]
    always: bool


_RFM_FACTS: Final = frozenset({"last_order_at", "order_count", "revenue"})


def reads_of(condition: Condition) -> Reads:
    """The events and facts a condition reads (the index of real-time evaluation)."""
    names: set[str] = set()
    facts: set[str] = set()
    for node in walk(condition):
        if isinstance(node, Performed | NotPerformedSince):
            names.add(node.event)
            if isinstance(node, NotPerformedSince) and node.since_fact:
                facts.add(node.since_fact)
        elif isinstance(node, FactIs):
            facts.add(node.fact)
        elif isinstance(node, TraitIs):
            facts.add("traits")
        elif isinstance(node, ConsentIs):
            facts.add("consent")
        elif isinstance(node, RfmIs):
            facts.update(_RFM_FACTS)
    return Reads(frozenset(names), frozenset(facts), always="stage" in facts)


@dataclass(frozen=True, slots=True)
class Segment:
    id: str
    name: str
    condition: Condition
    description: str = ""
    config: ProfileConfig = field(default=DEFAULT_CONFIG, compare=False)
    reads: Reads = field(init=False, compare=False, repr=False)
    # Every node of the condition, depth first (:func:`walk`), and its behaviour leaves.
    nodes: tuple[Condition, ...] = field(init=False, compare=False, repr=False)
    leaves: tuple[Performed | NotPerformedSince, ...] = field(init=False, compare=False, repr=False)
    # The condition compiled (:func:`compile_test`): the test of each node, by its ``id``,
    # and a cheap, safe test that time alone cannot make it true (:func:`compile_stays_false`).
    tests: Mapping[int, Test] = field(init=False, compare=False, repr=False)
    stays_false: Test = field(init=False, compare=False, repr=False)
    # Per behaviour leaf, in order: its ``where`` compiled (:func:`where_test`).
    matches: tuple[Match, ...] = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "reads", reads_of(self.condition))
        nodes = tuple(walk(self.condition))
        object.__setattr__(self, "nodes", nodes)
        leaves = tuple(n for n in nodes if isinstance(n, Performed | NotPerformedSince))
        object.__setattr__(self, "leaves", leaves)
        object.__setattr__(self, "matches", tuple(where_test(n.where) for n in leaves))
        tests: dict[int, Test] = {}
        compile_test(self.condition, self.config, tests)
        object.__setattr__(self, "tests", tests)
        stays = compile_stays_false(self.condition, tests) or _never
        object.__setattr__(self, "stays_false", stays)

    def test(self, facts: Mapping[str, Any], hits: Hits, now: dt.datetime) -> bool:
        """Whether a profile with these facts and matched behaviour is in the segment."""
        return self.tests[id(self.condition)](facts, hits, now)

    @property
    def lookback(self) -> dt.timedelta:
        """The longest window the segment reads: pass events in ``(now - lookback, now]``."""
        return max((w for w in _windows(self.condition)), default=dt.timedelta(0))


@dataclass(frozen=True, slots=True)
class BehaviourEvent:
    """One event of the profile: the track ``event`` name, its time and properties."""

    name: str
    timestamp: dt.datetime
    properties: Mapping[str, Any] = field(default_factory=dict)


def walk(condition: Condition) -> Iterator[Condition]:
    """Every node of a condition tree, depth first."""
    yield condition
    if isinstance(condition, All | AnyOf):
        for item in condition.items:
            yield from walk(item)
    elif isinstance(condition, Not):
        yield from walk(condition.item)


def _windows(condition: Condition) -> Iterator[dt.timedelta]:
    for node in walk(condition):
        if isinstance(node, Performed | NotPerformedSince):
            yield node.within


# --- facts ---------------------------------------------------------------------------------


def consent_facts(profile: Profile) -> dict[str, bool]:
    """Resolved consent per ``channel:purpose`` for the known channels and purposes, and
    ``*:sharing`` (the sale or sharing of the person's data) when stated."""
    out: dict[str, bool] = {}
    if not profile.consent:  # the common case on the hot path: nothing ever stated
        return out
    for channel in CHANNELS:
        for purpose in PURPOSES:
            granted = consent_for(profile, channel, purpose)
            if granted is not None:
                out[f"{channel}:{purpose}"] = granted
    sharing = consent_for(profile, "*", SHARING)
    if sharing is not None:
        out[f"*:{SHARING}"] = sharing
    return out


def _address(profile: Profile, key: str) -> object:
    raw = profile.traits.get("address")
    return raw.get(key) if isinstance(raw, dict) else None


# How each fact is read from a profile at ``now`` (one place for :func:`facts_of` and
# :func:`fact_of`).
_FACT_OF: Final[Mapping[str, Callable[[Profile, dt.datetime], Any]]] = {
    "first_seen": lambda p, _: p.first_seen,
    "last_seen": lambda p, _: p.last_seen,
    "stage": lambda p, now: stage.stage_of(p, now).value,
    "email": lambda p, _: _text(p.traits.get("email")),
    "country": lambda p, _: _text(p.traits.get("country") or _address(p, "country")),
    "city": lambda p, _: _text(p.traits.get("city") or _address(p, "city")),
    "timezone": lambda p, _: _text(p.traits.get("timezone")),
    "order_count": lambda p, _: p.order_count,
    "revenue": lambda p, _: p.revenue,
    "last_order_at": lambda p, _: p.last_order_at,
    "cart_value": lambda p, _: p.cart.value,
    "cart_items": lambda p, _: p.cart.quantity,
    "sessions": lambda p, _: p.session_count,
    "last_channel": lambda p, _: p.last_channel,
    "top_category": lambda p, _: top_affinity(p, "category"),
    "nps": lambda p, _: p.nps.score if p.nps else None,
    "csat": lambda p, _: p.csat.score if p.csat else None,
    "traits": lambda p, _: dict(p.traits),
    "consent": lambda p, _: consent_facts(p),
}


# The profile's fields each fact is read from (none: the stage, which reads many and the
# time): a fact of two versions of a profile whose fields are the same objects is the same.
_FACT_FIELDS: Final[Mapping[str, tuple[str, ...]]] = {
    "first_seen": ("first_seen",), "last_seen": ("last_seen",),
    **dict.fromkeys(("email", "country", "city", "timezone", "traits"), ("traits",)),
    "order_count": ("orders",), "revenue": ("revenue",),
    "last_order_at": ("orders", "last_order_id"),
    "cart_value": ("cart",), "cart_items": ("cart",),
    "sessions": ("sessions", "sessions_archived"), "last_channel": ("last_channel",),
    "top_category": ("affinity",), "nps": ("nps",), "csat": ("csat",), "consent": ("consent",),
}  # fmt: skip


def fact_kept(before: Profile, after: Profile, key: str) -> bool:
    """Whether the fact ``key`` is surely the same of both versions of a profile at one time
    (the fields it reads are the same objects: the reducer replaces what it changes); False
    when it may differ."""
    fields = _FACT_FIELDS.get(key, ())
    return bool(fields) and all(getattr(before, f) is getattr(after, f) for f in fields)


def facts_of(profile: Profile, now: dt.datetime) -> dict[str, Any]:
    """The facts of a profile at ``now``, as the ``profiles`` columns hold them.

    Keys: every name in :data:`FACTS`, plus ``traits`` (dict) and ``consent``
    (:func:`consent_facts`).
    """
    return {key: read(profile, now) for key, read in _FACT_OF.items()}


def fact_of(profile: Profile, key: str, now: dt.datetime) -> Any:
    """One fact of :func:`facts_of`, computed alone."""
    return _FACT_OF[key](profile, now)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def rfm_of(facts: Mapping[str, Any], now: dt.datetime, config: ProfileConfig) -> dict[str, int]:
    """R, F and M scores (1-5) from the order facts, as :func:`orders.rfm` computes them."""
    return {score: rfm_score(score, facts, now, config) for score in RFM_SCORES}


def rfm_score(score: str, facts: Mapping[str, Any], now: dt.datetime, config: ProfileConfig) -> int:
    """One score of :func:`rfm_of`, computed alone."""
    last = facts.get("last_order_at")
    if last is None:
        return 1
    if score == "recency":
        return 5 - sum(1 for d in config.recency_days if now - last > dt.timedelta(days=d))
    if score == "frequency":
        orders = facts.get("order_count") or 0
        return 1 + sum(1 for n in config.frequency_orders if orders >= n)
    revenue = facts.get("revenue") or 0.0
    return 1 + sum(1 for m in config.monetary_total if revenue >= m)


# --- evaluation ----------------------------------------------------------------------------


def compare(value: object, op: str, operand: Any) -> bool:
    """A typed comparison: only values of the operand's type compare; None never does.

    A list value (``interests: [yoga, hiking]``) ``contains`` an operand it holds, and is
    ``in`` a list of operands when it holds one of them; no other operator reads a list.
    """
    if op in ("exists", "missing"):
        return (value is None) == (op == "missing")
    if op == "contains" or isinstance(value, list):
        return _listed(value, op, operand)
    if op in ("in", "not_in"):
        return _among(value, op, operand)
    if not _same_type(value, operand):
        return False
    if op in ("eq", "ne"):
        return bool(value == operand) == (op == "eq")
    return _order(value, op, operand)


def _among(value: object, op: str, operand: Any) -> bool:
    if type(value) is str and isinstance(operand, list | tuple):  # a str equals only strs
        held = value in operand
        return held if op == "in" else not held and any(isinstance(o, str) for o in operand)
    hits = [_same_type(value, o) and value == o for o in operand]
    comparable = any(_same_type(value, o) for o in operand)
    return any(hits) if op == "in" else comparable and not any(hits)


def _listed(value: object, op: str, operand: Any) -> bool:
    if not isinstance(value, list):
        return False
    if op == "contains":
        return _holds(value, operand)
    return op == "in" and any(_holds(value, o) for o in operand)


def _holds(values: list[Any], operand: Any) -> bool:
    return any(_same_type(v, operand) and v == operand for v in values)


def _order(value: Any, op: str, operand: Any) -> bool:
    if isinstance(value, bool):
        return False
    if op == "gt":
        return bool(value > operand)
    if op == "gte":
        return bool(value >= operand)
    if op == "lt":
        return bool(value < operand)
    return bool(value <= operand)


def _same_type(value: object, operand: object) -> bool:
    if value is None:
        return False
    if isinstance(operand, bool) or isinstance(value, bool):
        return isinstance(operand, bool) and isinstance(value, bool)
    if isinstance(operand, int | float):
        return isinstance(value, int | float)
    return isinstance(value, type(operand))


def lookup(doc: Mapping[str, Any] | None, path: Sequence[str]) -> object:
    """The value at a dotted path of a JSON document, None when absent."""
    current: object = doc
    for key in path:
        if not isinstance(current, Mapping):
            return None
        current = current.get(key)
    return current


def where_test(where: Sequence[PropertyIs]) -> Match:
    """Whether an event's properties pass every filter of ``where``, compiled."""
    checks = tuple((p.path, predicate(p.op, p.value)) for p in where)

    def match(properties: Mapping[str, Any]) -> bool:
        for path, holds in checks:  # noqa: SIM110 - a loop: all() of a generator costs more
            if not holds(lookup(properties, path)):
                return False
        return True

    return match


def hits_of(
    segment: Segment,
    behaviour: Sequence[BehaviourEvent],
    by_name: Mapping[str, Sequence[BehaviourEvent]] | None = None,
) -> dict[int, list[dt.datetime]]:
    """The sorted times of the events each behaviour leaf matches (by the leaf's ``id``):
    matching is done once, so evaluating at many times only counts. ``by_name``: the same
    events grouped by name (:func:`by_name`), when the caller matches several segments."""
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


def _count(times: Sequence[dt.datetime], after: dt.datetime, now: dt.datetime) -> int:
    """Events in ``(after, now]``."""
    return max(0, bisect.bisect_right(times, now) - bisect.bisect_right(times, after))


def _anchor(node: NotPerformedSince, facts: Mapping[str, Any], now: dt.datetime) -> dt.datetime:
    start = now - node.within
    fact = facts.get(node.since_fact) if node.since_fact else None
    return max(fact, start) if isinstance(fact, dt.datetime) else start


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


# --- compilation ---------------------------------------------------------------------------
# A condition is compiled once into closures (one per node) so that evaluating it is a few
# calls, not a walk that tells the kinds of nodes apart at every event. The semantics are
# those of :func:`compare` and of the leaves' docstrings.


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
    if FACTS.get(key) == "time" and node.op in ("within", "before"):
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
    if isinstance(node, TraitIs | ConsentIs) or (
        isinstance(node, FactIs) and node.op not in ("within", "before")
    ):
        return _negated(tests[id(node)])
    if isinstance(node, Performed) and node.at_least:
        return _too_few(id(node), node.at_least)
    return None


def _too_few(key: int, least: int) -> Test:
    def too_few(facts: Mapping[str, Any], hits: Hits, now: dt.datetime) -> bool:  # noqa: ARG001
        return len(hits[key]) < least

    return too_few


def _never(facts: Mapping[str, Any], hits: Hits, now: dt.datetime) -> bool:  # noqa: ARG001
    return False


_NUMBER_OPS: Final[Mapping[str, Callable[[Any, Any], Any]]] = {
    "eq": operator.eq, "ne": operator.ne, "gt": operator.gt,
    "gte": operator.ge, "lt": operator.lt, "lte": operator.le,
}  # fmt: skip


def predicate(op: str, operand: Any) -> Predicate:
    """``compare(value, op, operand)`` as a function of ``value``, specialised for the
    common operands (a string, a bool or a number compared, a list of strings to be in)."""
    if op in ("exists", "missing"):
        missing = op == "missing"
        return lambda value: (value is None) == missing
    if op in ("eq", "ne") and isinstance(operand, str | bool):
        kind, equal = type(operand), op == "eq"
        return lambda value: isinstance(value, kind) and (value == operand) == equal
    if op in _NUMBER_OPS and isinstance(operand, int | float) and not isinstance(operand, bool):
        test = _NUMBER_OPS[op]
        return lambda value: (
            isinstance(value, int | float)
            and not isinstance(value, bool)
            and bool(test(value, operand))
        )
    if op in ("in", "not_in") and isinstance(operand, list | tuple):
        return _among_test(op, operand)
    return lambda value: compare(value, op, operand)


def _among_test(op: str, operand: list[Any] | tuple[Any, ...]) -> Predicate:
    held = tuple(operand)
    if op == "in":
        return lambda value: (
            value in held if type(value) is str else value is not None and compare(value, op, held)
        )
    strs = any(isinstance(o, str) for o in held)
    return lambda value: (
        value not in held and strs
        if type(value) is str
        else value is not None and compare(value, op, held)
    )
