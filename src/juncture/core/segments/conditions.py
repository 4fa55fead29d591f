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

:func:`evaluate` decides membership from facts (:func:`facts_of`) and the events inside
``segment.lookback`` before ``now``; :func:`changes_at` says when time alone can next change
the answer, so that the runtime can schedule one timer. ``store/segments.py`` compiles the
same tree to SQL with identical semantics.
"""

from __future__ import annotations

import bisect
import datetime as dt
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
_TICK: Final = dt.timedelta(microseconds=1)


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

    def __post_init__(self) -> None:
        object.__setattr__(self, "reads", reads_of(self.condition))
        nodes = tuple(walk(self.condition))
        object.__setattr__(self, "nodes", nodes)
        leaves = tuple(n for n in nodes if isinstance(n, Performed | NotPerformedSince))
        object.__setattr__(self, "leaves", leaves)

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
    last = facts.get("last_order_at")
    if last is None:
        return {"recency": 1, "frequency": 1, "monetary": 1}
    orders, revenue = facts.get("order_count") or 0, facts.get("revenue") or 0.0
    return {
        "recency": 5 - sum(1 for d in config.recency_days if now - last > dt.timedelta(days=d)),
        "frequency": 1 + sum(1 for n in config.frequency_orders if orders >= n),
        "monetary": 1 + sum(1 for m in config.monetary_total if revenue >= m),
    }


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


def _fact(node: FactIs, facts: Mapping[str, Any], now: dt.datetime) -> bool:
    value = facts.get(node.fact)
    if FACTS.get(node.fact) == "time" and node.op in ("within", "before"):
        if value is None:
            return False
        # within d: later than now - d; before d: at or before now - d.
        return bool(value > now - node.value) == (node.op == "within")
    return compare(value, node.op, node.value)


def matches(event: BehaviourEvent, name: str, where: Sequence[PropertyIs]) -> bool:
    return event.name == name and all(
        compare(lookup(event.properties, p.path), p.op, p.value) for p in where
    )


Hits = Mapping[int, Sequence[dt.datetime]]


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
        id(node): sorted(
            e.timestamp for e in by_name.get(node.event, ()) if matches(e, node.event, node.where)
        )
        for node in segment.leaves
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
    return _eval(segment.condition, segment, facts, hits, now)


def _eval(
    node: Condition,
    segment: Segment,
    facts: Mapping[str, Any],
    hits: Hits,
    now: dt.datetime,
) -> bool:
    if isinstance(node, All):
        return all(_eval(i, segment, facts, hits, now) for i in node.items)
    if isinstance(node, AnyOf):
        return any(_eval(i, segment, facts, hits, now) for i in node.items)
    if isinstance(node, Not):
        return not _eval(node.item, segment, facts, hits, now)
    return _leaf(node, segment, facts, hits, now)


def _leaf(
    node: Condition,
    segment: Segment,
    facts: Mapping[str, Any],
    hits: Hits,
    now: dt.datetime,
) -> bool:
    if isinstance(node, FactIs):
        return _fact(node, facts, now)
    if isinstance(node, TraitIs):
        return compare(lookup(facts.get("traits"), node.path), node.op, node.value)
    if isinstance(node, ConsentIs):
        consent = facts.get("consent") or {}
        return consent.get(f"{node.channel}:{node.purpose}") is node.granted
    if isinstance(node, RfmIs):
        score = rfm_of(facts, now, segment.config)[node.score]
        return compare(score, node.op, node.value)
    if isinstance(node, Performed):
        n = _count(hits[id(node)], now - node.within, now)
        return (node.at_least is None or n >= node.at_least) and (
            node.at_most is None or n <= node.at_most
        )
    if isinstance(node, NotPerformedSince):
        return _count(hits[id(node)], _anchor(node, facts, now), now) == 0
    raise TypeError(f"not a segment condition: {node!r}")


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
        current = _eval(segment.condition, segment, facts, hits, now)
    if not current and _stays_false(segment.condition, segment, facts, hits, now):
        return None
    for t in sorted(_candidates(segment, facts, hits, now)):
        if before is not None and t >= before:
            return None
        if _eval(segment.condition, segment, facts, hits, t) != current:
            return t
    return None


def _stays_false(
    node: Condition,
    segment: Segment,
    facts: Mapping[str, Any],
    hits: Hits,
    now: dt.datetime,
) -> bool:
    """A cheap, safe test that time alone cannot make ``node`` true: a false leaf that does
    not read the clock, or too few matching events at any time, in a conjunction."""
    if isinstance(node, All):
        return any(_stays_false(i, segment, facts, hits, now) for i in node.items)
    if isinstance(node, AnyOf):
        return all(_stays_false(i, segment, facts, hits, now) for i in node.items)
    # The facts are those at ``now`` for every instant :func:`changes_at` looks at (the stage
    # included: time moves it, but the stage's own timer answers that), so a false leaf that
    # compares a fact or trait stays false.
    if isinstance(node, TraitIs | ConsentIs) or (
        isinstance(node, FactIs) and node.op not in ("within", "before")
    ):
        return not _leaf(node, segment, facts, hits, now)
    if isinstance(node, Performed) and node.at_least:
        return len(hits[id(node)]) < node.at_least
    return False


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
    times = sorted({t for h in hits[id(node)] for t in (h, h + node.within) if t > now})
    flips = []
    answer = _leaf(node, segment, facts, hits, now)
    for t in times:
        at_t = _leaf(node, segment, facts, hits, t)
        if at_t != answer:
            flips.append(t)
            answer = at_t
    return flips


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
