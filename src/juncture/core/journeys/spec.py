"""What a journey is, once validated: frozen data built by :mod:`juncture.definitions`.

A journey is a graph of nodes joined by ``next`` edges, entered at its trigger nodes.
Segment and date triggers are matched as the derived events that the segment evaluator and
the scheduler emit (:data:`SEGMENT_ENTERED`, :data:`SEGMENT_EXITED`, :data:`DATE_REACHED`,
and :data:`ANNIVERSARY_REACHED` for a yearly date such as a birthday), so the state machine
has one way in: an event.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from juncture.core import channels
from juncture.core.journeys import expr
from juncture.core.journeys.content import MessageData
from juncture.core.journeys.windows import SendWindow

SEGMENT_ENTERED: Final = "Segment Entered"
SEGMENT_EXITED: Final = "Segment Exited"
DATE_REACHED: Final = "Date Reached"
ANNIVERSARY_REACHED: Final = "Anniversary Reached"  # a yearly date trigger (`every: year`)
EVERY: Final = ("year",)
SETTLED_BY: Final = "Order Completed"  # the event that ``settles`` matches

CHANNELS: Final = channels.NAMES
# What an on-site placement shows (``POST /v1/decide`` answers with it as ``show.kind``).
PLACEMENT_KINDS: Final = (
    "welcome",
    "cart_recovery",
    "exit_intent",
    "product_recommendation",
    "time_sensitive_offer",
    "retargeting",
    "email_my_basket",
    "data_capture",
    "survey",
)
PURPOSES: Final = ("marketing", "transactional")
REENTRY: Final = ("never", "cooldown", "always")

# A name of CHANNELS: the reader checks it against the table, so no Literal copies the names.
Channel = str
Purpose = Literal["marketing", "transactional"]


@dataclass(frozen=True, slots=True)
class EventMatch:
    """An event by name, with equality filters on properties and an optional condition."""

    event: str
    properties: tuple[tuple[str, Any], ...] = ()
    where: expr.Expr | None = None

    def matches(self, name: str | None, scope: Mapping[str, Any]) -> bool:
        """``scope`` is the expression scope; its ``event.properties`` are filtered on."""
        if name != self.event:
            return False
        props = expr.lookup(scope, ("event", "properties")) or {}
        for path, wanted in self.properties:
            if expr.lookup(props, tuple(path.split("."))) != wanted:
                return False
        return self.where is None or expr.holds(self.where, scope)


@dataclass(frozen=True, slots=True)
class EntryRules:
    """Re-entry after an enrollment ended; ``key`` (a path such as
    ``event.properties.cart_id``) allows one active enrollment per key instead of per profile.
    """

    reentry: Literal["never", "cooldown", "always"] = "always"
    cooldown: dt.timedelta | None = None
    key: tuple[str, ...] | None = None


@dataclass(frozen=True, slots=True)
class Goal:
    """The conversion: ``match`` within ``within`` of entry; reaching it exits when ``exit``.
    With ``key`` (a path), only an event whose key equals the enrollment's key counts; with
    ``settles``, only an order that settles the enrollment's cart or checkout (machine).
    """

    match: EventMatch
    within: dt.timedelta | None = None
    exit: bool = True
    key: tuple[str, ...] | None = None
    settles: bool = False


@dataclass(frozen=True, slots=True)
class Node:
    id: str


@dataclass(frozen=True, slots=True)
class Trigger(Node):
    """Entry point: ``match`` is the event (or the derived segment/date event) that enrolls.
    ``every``: a date trigger that comes back each year on the date's month and day."""

    match: EventMatch
    next: str
    kind: Literal["event", "segment_entered", "segment_exited", "date"] = "event"
    every: Literal["year"] | None = None


@dataclass(frozen=True, slots=True)
class WaitFor(Node):
    """Wait a fixed duration."""

    duration: dt.timedelta
    next: str


@dataclass(frozen=True, slots=True)
class WaitUntilEvent(Node):
    """Wait for ``match`` (whose ``key`` path equals the enrollment's key when set; with
    ``settles``, an order that settles the enrollment's cart or checkout) until ``timeout``;
    ``reset`` re-arms the timeout when it happens for the same key.
    """

    match: EventMatch
    timeout: dt.timedelta
    on_event: str
    on_timeout: str
    key: tuple[str, ...] | None = None
    reset: EventMatch | None = None
    settles: bool = False


@dataclass(frozen=True, slots=True)
class WaitUntilTime(Node):
    """Wait until the next ``at`` in the profile's ``timezone`` trait (``default_tz`` else)."""

    at: dt.time
    next: str
    default_tz: str = "UTC"


# The kinds of recommendations a send or a condition may need
# (juncture.recommend.base.KINDS; a test keeps the two equal: the core cannot import the
# recommenders).
RECOMMENDATION_KINDS: Final = (
    "best_sellers", "trending", "people_like_you", "related", "bought_together", "similar",
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Recommended:
    """Something good to recommend: at least ``at_least`` products of ``kind`` for the
    shopper. On a send, counted as the message leaves (else it is not sent); on a condition's
    branch, as the enrollment reaches the condition (else the branch does not hold)."""

    kind: str
    at_least: int = 1


@dataclass(frozen=True, slots=True)
class Branch:
    """Taken when ``when`` holds and, with ``recommended``, the shopper has that much to
    recommend (a fact the runtime counts:
    :class:`juncture.core.journeys.machine.RecommendationsNeeded`)."""

    when: expr.Expr
    next: str
    source: str = ""
    recommended: Recommended | None = None


@dataclass(frozen=True, slots=True)
class Condition(Node):
    """The first branch whose condition holds, else ``otherwise``."""

    branches: tuple[Branch, ...]
    otherwise: str


@dataclass(frozen=True, slots=True)
class SplitBranch:
    name: str
    weight: float
    next: str


@dataclass(frozen=True, slots=True)
class Split(Node):
    """A weighted random choice, deterministic per journey, profile and node."""

    branches: tuple[SplitBranch, ...]


@dataclass(frozen=True, slots=True)
class SendMessage(Node):
    """A message on ``channel``. On-site ones (``onsite``) wait for the customer's next
    visit: ``kind`` (one of :data:`PLACEMENT_KINDS`) says what they are, ``placement`` the
    slot that may show them (``any`` when None), ``expires`` how long they wait at most.
    ``data`` is what the template shows (an offer, products, a survey, a deadline);
    ``recommended`` what it needs to recommend to be sent at all."""

    channel: Channel
    purpose: Purpose
    next: str
    template: str | None = None
    inline: Mapping[str, Any] | None = None
    kind: str | None = None
    placement: str | None = None
    data: MessageData = field(default_factory=MessageData)
    expires: dt.timedelta | None = None
    recommended: Recommended | None = None


@dataclass(frozen=True, slots=True)
class SetTrait(Node):
    trait: str
    value: Any
    next: str


@dataclass(frozen=True, slots=True)
class EmitEvent(Node):
    event: str
    next: str
    properties: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CallWebhook(Node):
    url: str
    next: str
    method: str = "POST"
    body: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Exit(Node):
    pass


AnyNode = (
    Trigger
    | WaitFor
    | WaitUntilEvent
    | WaitUntilTime
    | Condition
    | Split
    | SendMessage
    | SetTrait
    | EmitEvent
    | CallWebhook
    | Exit
)
WAITS: Final = (WaitFor, WaitUntilEvent, WaitUntilTime)
# The nodes the engine carries out as written (``commands.RunAction``); a send is arbitrated
# first, so it travels as a ``commands.Send`` of its own.
Action = SetTrait | EmitEvent | CallWebhook


def successors(node: AnyNode) -> tuple[str, ...]:
    """The node ids that ``node`` can lead to."""
    if isinstance(node, Exit):
        return ()
    if isinstance(node, WaitUntilEvent):
        return (node.on_event, node.on_timeout)
    if isinstance(node, Condition):
        return (*(b.next for b in node.branches), node.otherwise)
    if isinstance(node, Split):
        return tuple(b.next for b in node.branches)
    return (node.next,)


@dataclass(frozen=True, slots=True)
class JourneySpec:
    """One version of a journey. ``nodes`` keeps the definition's order."""

    id: str
    version: int
    name: str
    nodes: Mapping[str, AnyNode]
    priority: int = 0
    entry: EntryRules = EntryRules()
    goal: Goal | None = None
    exits: tuple[EventMatch, ...] = ()
    holdout_percent: float = 0.0
    send_window: SendWindow | None = None  # when its marketing may leave, customer's time
    # Derived from the above once, not per event: the engine asks for them on every event.
    triggers: tuple[Trigger, ...] = field(init=False, repr=False, compare=False)
    entered_by: frozenset[str] = field(init=False, repr=False, compare=False)  # trigger events
    moved_by: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        triggers = tuple(n for n in self.nodes.values() if isinstance(n, Trigger))
        object.__setattr__(self, "triggers", triggers)
        object.__setattr__(self, "entered_by", frozenset(t.match.event for t in triggers))
        object.__setattr__(self, "moved_by", _moved_by(self))


def _moved_by(journey: JourneySpec) -> frozenset[str]:
    """The event names that can move an enrollment already in ``journey``: its exits, its goal,
    and what its waits await or reset on. Any other event leaves its enrollments as they are."""
    names = {m.event for m in journey.exits}
    if journey.goal is not None:
        names.add(journey.goal.match.event)
    for node in journey.nodes.values():
        if isinstance(node, WaitUntilEvent):
            names.add(node.match.event)
            if node.reset is not None:
                names.add(node.reset.event)
    return frozenset(names)


def entry_order(journey: JourneySpec) -> tuple[int, str]:
    """The order in which journeys may enroll on one event: highest priority first, then id."""
    return (-journey.priority, journey.id)


def unreachable(nodes: Mapping[str, AnyNode]) -> list[str]:
    """The ids of nodes that no trigger leads to, in definition order."""
    seen: set[str] = set()
    todo = [n.id for n in nodes.values() if isinstance(n, Trigger)]
    while todo:
        current = todo.pop()
        if current in seen or current not in nodes:
            continue
        seen.add(current)
        todo.extend(successors(nodes[current]))
    return [node_id for node_id in nodes if node_id not in seen]


def loops_without_wait(nodes: Mapping[str, AnyNode]) -> list[tuple[str, ...]]:
    """Cycles that pass no wait node (an enrollment in one would never stop), as node ids."""
    found: list[tuple[str, ...]] = []
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node_id: str) -> None:
        state[node_id] = 1
        path.append(node_id)
        node = nodes[node_id]
        targets = () if isinstance(node, WAITS) else successors(node)
        for target in targets:
            if target not in nodes or isinstance(nodes[target], WAITS):
                continue
            if state.get(target) == 1:
                found.append((*path[path.index(target) :], target))
            elif target not in state:
                visit(target)
        path.pop()
        state[node_id] = 2

    for node_id in nodes:
        if node_id not in state:
            visit(node_id)
    return found
