"""The condition language of journeys: parsed once at load time, evaluated without ``eval``.

Grammar (keywords are lower case; strings take single or double quotes)::

    expr       := and ("or" and)*
    and        := not ("and" not)*
    not        := "not" not | comparison
    comparison := operand [("==" | "!=" | "<" | "<=" | ">" | ">=" | "in" | "not" "in") operand]
    operand    := number | string | "true" | "false" | "null" | path | list | "(" expr ")"
    path       := root ("." name)*      root: profile | event | context
    list       := "[" [operand ("," operand)*] "]"

Examples: ``profile.traits.city == "Lyon"``,
``event.properties.value >= 100 and not profile.traits.vip``,
``profile.traits.country in ["FR", "BE"]``, ``profile.orders.count == 0``.

Evaluation never raises: a missing path reads as ``null``, and an ordering comparison between
values that cannot be ordered (``null < 3``, ``"a" < 3``) is false. A bare operand is tested
for truth (``not profile.traits.vip``).

>>> evaluate(parse("profile.orders.count >= 2"), {"profile": {"orders": {"count": 3}}})
True
"""

from __future__ import annotations

import operator
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

ROOTS: Final = frozenset({"profile", "event", "context"})
_COMPARE: Final = frozenset({"==", "!=", "<", "<=", ">", ">=", "in", "not in"})
_TOKEN: Final = re.compile(
    r"""\s*(?:
      (?P<num>-?\d+(?:\.\d+)?)
    | (?P<str>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    | (?P<op>==|!=|<=|>=|<|>|\(|\)|\[|\]|,|\.)
    | (?P<name>[A-Za-z_$][A-Za-z0-9_$-]*)
    )""",
    re.VERBOSE,
)
_OPERATORS: Final[Mapping[str, Any]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_LITERALS: Final[Mapping[str, Any]] = {"true": True, "false": False, "null": None}


class ExprError(ValueError):
    """A condition that does not parse; ``column`` is 1-based within the expression text."""

    def __init__(self, message: str, column: int):
        super().__init__(f"{message} (column {column})")
        self.reason = message
        self.column = column


@dataclass(frozen=True, slots=True)
class Literal:
    value: Any


@dataclass(frozen=True, slots=True)
class Path:
    parts: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ListOf:
    items: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Not:
    operand: Expr


@dataclass(frozen=True, slots=True)
class BoolOp:
    op: str  # "and" | "or"
    operands: tuple[Expr, ...]


@dataclass(frozen=True, slots=True)
class Compare:
    op: str
    left: Expr
    right: Expr


Expr = Literal | Path | ListOf | Not | BoolOp | Compare


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # num | str | op | name | end
    text: str
    column: int


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.lastgroup is None:
            col = pos + len(text[pos:]) - len(text[pos:].lstrip()) + 1
            raise ExprError(f"unexpected character {text[col - 1]!r}", col)
        kind = match.lastgroup
        tokens.append(_Token(kind, match.group(kind), match.start(kind) + 1))
        pos = match.end()
    tokens.append(_Token("end", "", len(text) + 1))
    return tokens


class _Parser:
    def __init__(self, text: str):
        self.tokens = _tokenize(text)
        self.i = 0

    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def take(self) -> _Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def at(self, kind: str, text: str) -> bool:
        return self.tok.kind == kind and self.tok.text == text

    def expect(self, text: str) -> None:
        if not self.at("op", text):
            raise ExprError(f"expected {text!r}, found {self._shown()}", self.tok.column)
        self.i += 1

    def _shown(self) -> str:
        return "end of expression" if self.tok.kind == "end" else repr(self.tok.text)

    def parse(self) -> Expr:
        expr = self.or_()
        if self.tok.kind != "end":
            raise ExprError(f"unexpected {self._shown()}", self.tok.column)
        return expr

    def or_(self) -> Expr:
        items = [self.and_()]
        while self.at("name", "or"):
            self.take()
            items.append(self.and_())
        return items[0] if len(items) == 1 else BoolOp("or", tuple(items))

    def and_(self) -> Expr:
        items = [self.not_()]
        while self.at("name", "and"):
            self.take()
            items.append(self.not_())
        return items[0] if len(items) == 1 else BoolOp("and", tuple(items))

    def not_(self) -> Expr:
        if self.at("name", "not"):
            self.take()
            return Not(self.not_())
        return self.comparison()

    def comparison(self) -> Expr:
        left = self.operand()
        op = self._comparison_op()
        if op is None:
            return left
        return Compare(op, left, self.operand())

    def _comparison_op(self) -> str | None:
        tok = self.tok
        if (tok.kind == "op" and tok.text in _COMPARE) or self.at("name", "in"):
            self.take()
            return tok.text
        if self.at("name", "not") and self.tokens[self.i + 1].text == "in":
            self.i += 2
            return "not in"
        return None

    def operand(self) -> Expr:
        tok = self.take()
        if tok.kind == "num":
            return Literal(float(tok.text) if "." in tok.text else int(tok.text))
        if tok.kind == "str":
            return Literal(_unquote(tok.text))
        if tok.kind == "name" and tok.text in _LITERALS:
            return Literal(_LITERALS[tok.text])
        if tok.kind == "name":
            return self.path(tok)
        if tok.text == "(":
            inner = self.or_()
            self.expect(")")
            return inner
        if tok.text == "[":
            return self.list_()
        self.i -= 1
        raise ExprError(f"expected a value or a path, found {self._shown()}", tok.column)

    def path(self, first: _Token) -> Path:
        if first.text not in ROOTS:
            roots = ", ".join(sorted(ROOTS))
            raise ExprError(f"unknown name {first.text!r}: paths start with {roots}", first.column)
        parts = [first.text]
        while self.at("op", "."):
            self.take()
            part = self.take()
            if part.kind not in ("name", "num"):
                raise ExprError("expected a name after '.'", part.column)
            parts.append(part.text)
        return Path(tuple(parts))

    def list_(self) -> ListOf:
        items: list[Expr] = []
        while not self.at("op", "]"):
            if items:
                self.expect(",")
            items.append(self.operand())
        self.take()
        return ListOf(tuple(items))


def _unquote(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text[1:-1])


def parse(text: str) -> Expr:
    """The AST of a condition, or :class:`ExprError` with the column of the problem."""
    return _Parser(text).parse()


def evaluate(expr: Expr, scope: Mapping[str, Any]) -> Any:
    """The value of ``expr`` with ``profile``, ``event`` and ``context`` taken from ``scope``."""
    if isinstance(expr, Literal):
        return expr.value
    if isinstance(expr, Path):
        return lookup(scope, expr.parts)
    if isinstance(expr, ListOf):
        return [evaluate(item, scope) for item in expr.items]
    if isinstance(expr, Not):
        return not evaluate(expr.operand, scope)
    if isinstance(expr, BoolOp):
        values = (bool(evaluate(item, scope)) for item in expr.operands)
        return all(values) if expr.op == "and" else any(values)
    return _compare(expr.op, evaluate(expr.left, scope), evaluate(expr.right, scope))


def holds(expr: Expr, scope: Mapping[str, Any]) -> bool:
    """Whether a condition is true in ``scope``."""
    return bool(evaluate(expr, scope))


def lookup(scope: Any, parts: tuple[str, ...]) -> Any:
    """Follow a dotted path through mappings (and list indexes); missing reads as ``None``."""
    value = scope
    for part in parts:
        if isinstance(value, Mapping):
            value = value.get(part)
        elif isinstance(value, list | tuple) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def _compare(op: str, left: Any, right: Any) -> bool:
    if op in ("in", "not in"):
        return _contains(right, left) == (op == "in")
    try:
        return bool(_OPERATORS[op](left, right))
    except TypeError:  # ordering across types (None < 3) is simply false
        return False


def _contains(container: Any, item: Any) -> bool:
    if isinstance(container, str):
        return isinstance(item, str) and item in container
    if isinstance(container, list | tuple | set | frozenset | Mapping):
        return item in container
    return False
