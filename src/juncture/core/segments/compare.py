"""Typed comparison, as every leaf of a segment compares: only values of the operand's type
compare, None never does, a list value is matched by ``contains`` and ``in``. :func:`compare`
states the semantics; :func:`predicate` and :func:`where_test` are the same compiled into
closures for the hot path (a test proves they agree), and the SQL of ``store/segments.py``
is compiled to the same semantics.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from juncture.core.segments.nodes import PropertyIs

Predicate = Callable[[Any], bool]
Match = Callable[[Mapping[str, Any]], bool]  # an event's properties pass its filters


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
        # (a dict, the usual document, is told apart before the abstract class check)
        if type(current) is dict or isinstance(current, Mapping):
            current = current.get(key)
        else:
            return None
    return current


def where_test(where: Sequence[PropertyIs]) -> Match:
    """Whether an event's properties pass every filter of ``where``, compiled."""
    checks = tuple((p.path, predicate(p.op, p.value)) for p in where)
    if len(checks) == 1 and len(checks[0][0]) == 1:  # one filter on a top-level property
        (((key,), test),) = checks

        def match_one(properties: Mapping[str, Any]) -> bool:
            if type(properties) is dict:
                return test(properties.get(key))
            return test(lookup(properties, (key,)))

        return match_one

    def match(properties: Mapping[str, Any]) -> bool:
        for path, holds in checks:  # noqa: SIM110 - a loop: all() of a generator costs more
            if not holds(lookup(properties, path)):
                return False
        return True

    return match


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
