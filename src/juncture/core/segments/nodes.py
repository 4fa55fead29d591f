"""The nodes of a segment's condition tree (the grammar's leaves and combinators).

Leaves are

- :class:`FactIs`: a fact of the ``profiles`` table (:data:`facts.FACTS`), e.g. ``city eq Berlin``,
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
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Final

from juncture.core.segments.facts import FACTS

OPS: Final = frozenset(
    {"eq", "ne", "in", "not_in", "contains", "gt", "gte", "lt", "lte", "exists", "missing"}
)
# The operators of a time fact that read the clock: ``within``/``before`` a duration.
CLOCK_OPS: Final = frozenset({"within", "before"})
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
Behaviour = Performed | NotPerformedSince


def walk(condition: Condition) -> Iterator[Condition]:
    """Every node of a condition tree, depth first."""
    yield condition
    if isinstance(condition, All | AnyOf):
        for item in condition.items:
            yield from walk(item)
    elif isinstance(condition, Not):
        yield from walk(condition.item)


def reads_clock(node: Condition) -> bool:
    """Whether a leaf's answer can change with time alone, its facts and events the same:
    a behaviour leaf (its window slides), a time fact ``within``/``before`` a duration, the
    RFM recency score. (The stage also moves with time; its own timer answers that.)"""
    if isinstance(node, FactIs):
        return node.op in CLOCK_OPS and FACTS.get(node.fact) == "time"
    if isinstance(node, RfmIs):
        return node.score == "recency"
    return isinstance(node, Performed | NotPerformedSince)
