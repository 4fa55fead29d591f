"""Segment conditions compiled to SQL: one boolean expression per segment over ``profiles``
and ``events``.

:func:`compile_condition` turns a :class:`~juncture.core.segments.conditions.Segment` into a
boolean SQL expression over the live profiles with exactly the semantics of
:func:`juncture.core.segments.conditions.evaluate` on SQLite and PostgreSQL: every leaf is
two-valued (a missing value gives false, never NULL, so ``not`` stays exact), JSON values
compare only with values of the same type, and times are bound in UTC (SQLite compares them
as text).

Behaviour leaves become ``profile_id IN (SELECT ... GROUP BY ... HAVING count(*) >= n)`` over
the window's events, found through the ``(event, timestamp)`` index; events of a merged
profile count for the profile it points to (one hop of ``redirect_to``).
"""

from __future__ import annotations

import datetime as dt
import json
import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from juncture.core.events import UTC
from juncture.core.segments import conditions as seg
from juncture.store import tables

Expr = sa.ColumnElement[bool]
_P: Final = tables.profiles
_E: Final = tables.events
_CHUNK: Final = 500


def utc(t: dt.datetime) -> dt.datetime:
    return t.astimezone(UTC)


class _Json:
    """Typed access to a JSON document (a JSON column or JSON text) on one dialect."""

    def __init__(self, doc: sa.ColumnElement[Any], dialect: str, prefix: Sequence[str] = ()):
        self.sqlite = dialect == "sqlite"
        self.doc = doc if self.sqlite else sa.cast(doc, postgresql.JSONB)
        self.prefix = tuple(prefix)

    def _sqlite_path(self, path: Sequence[str]) -> str:
        keys = (*self.prefix, *path)
        return "$" + "".join('."' + k.replace('"', '\\"') + '"' for k in keys)

    def kind(self, path: Sequence[str]) -> sa.ColumnElement[str]:
        """``string``, ``number``, ``true``, ``false``, ``null``, ``object``, ``array`` or ''."""
        if self.sqlite:
            raw = sa.func.json_type(self.doc, self._sqlite_path(path))
            return sa.case(
                (raw == "text", "string"),
                (raw.in_(["integer", "real"]), "number"),
                else_=sa.func.coalesce(raw, ""),
            )
        keys = (*self.prefix, *path)
        typed = sa.func.jsonb_typeof(sa.func.jsonb_extract_path(self.doc, *keys))
        text = sa.func.jsonb_extract_path_text(self.doc, *keys)
        return sa.case((typed == "boolean", text), else_=sa.func.coalesce(typed, ""))

    def value(self, path: Sequence[str], number: bool) -> sa.ColumnElement[Any]:
        if self.sqlite:
            return sa.func.json_extract(self.doc, self._sqlite_path(path))
        text = sa.func.jsonb_extract_path_text(self.doc, *self.prefix, *path)
        if not number:
            return text
        is_num = sa.func.jsonb_typeof(sa.func.jsonb_extract_path(self.doc, *self.prefix, *path))
        return sa.case((is_num == "number", sa.cast(text, sa.Float)), else_=None)

    def compare(self, path: Sequence[str], op: str, operand: Any) -> Expr:
        kind = self.kind(path)
        if op in ("exists", "missing"):
            absent = kind.in_(["", "null"])
            return absent if op == "missing" else sa.not_(absent)
        if op in ("contains", "in", "not_in"):
            return self._membership(kind, path, op, operand)
        if _strings(op, operand):
            return self._text(path, op, operand)
        if isinstance(operand, bool):
            if op not in ("eq", "ne"):
                return sa.false()
            want = "true" if operand == (op == "eq") else "false"
            return kind == want
        value = self.value(path, isinstance(operand, int | float))
        return sa.and_(self._typed(kind, operand), _op(value, op, operand))

    def _text(self, path: Sequence[str], op: str, operand: Any) -> Expr:
        """``eq``/``in`` with strings, reading the document once a row.

        SQLite: json_extract gives SQL text only for JSON strings, and text never equals a
        number, so the type test is implied. PostgreSQL: jsonb equality is exact in type
        (``"7"`` is not ``7``). ``IS`` and ``coalesce`` keep the answer two-valued.
        """
        if self.sqlite:
            value: sa.ColumnElement[Any] = sa.func.json_extract(self.doc, self._sqlite_path(path))
            wanted: list[Any] = [operand] if op == "eq" else list(operand)
        else:
            value = sa.func.jsonb_extract_path(self.doc, *self.prefix, *path)
            texts = [operand] if op == "eq" else list(operand)
            wanted = [sa.func.to_jsonb(sa.cast(sa.literal(t), sa.Text)) for t in texts]
        if op == "eq" and self.sqlite:
            # A custom ``IS``: SQLAlchemy negates ``x.is_('text')`` to ``x IS 'text'`` (it
            # drops the NOT), which turned ``not: {trait: ..., eq: ...}`` into its opposite.
            return value.op("IS", is_comparison=True)(wanted[0])
        return sa.func.coalesce(value.in_(wanted), False).is_(True)

    def _membership(
        self, kind: sa.ColumnElement[str], path: Sequence[str], op: str, operand: Any
    ) -> Expr:
        """``contains`` (a list holds the operand), ``in`` (a scalar among the operands or a
        list holding one of them) and ``not_in`` (a scalar of their type, none of them)."""
        if op == "contains":
            return self._holds(path, operand)
        if op == "not_in":
            return self._among(kind, path, op, operand)
        if _strings(op, operand):
            scalar = self._text(path, op, operand)
        else:
            scalar = self._among(kind, path, op, operand)
        return sa.or_(scalar, *(self._holds(path, o) for o in operand))

    def _holds(self, path: Sequence[str], operand: Any) -> Expr:
        """The value is a JSON array with an element equal to ``operand``, of its type."""
        array = self.kind(path) == "array"
        if not self.sqlite:
            # jsonb containment compares elements by type and value, numbers numerically
            # (5 = 5.0), as the pure comparison does.
            want = sa.cast(sa.literal(json.dumps([operand]), sa.Text), postgresql.JSONB)
            value = sa.func.jsonb_extract_path(self.doc, *self.prefix, *path)
            return sa.and_(array, sa.func.coalesce(value.op("@>")(want), False).is_(True))
        each = sa.func.json_each(self.doc, self._sqlite_path(path)).table_valued("value", "type")
        if isinstance(operand, bool):
            match = each.c.type == ("true" if operand else "false")
        elif isinstance(operand, int | float):
            match = sa.and_(each.c.type.in_(["integer", "real"]), each.c.value == operand)
        else:
            match = sa.and_(each.c.type == "text", each.c.value == operand)
        return sa.and_(array, sa.exists(sa.select(sa.literal(1)).select_from(each).where(match)))

    def _among(
        self, kind: sa.ColumnElement[str], path: Sequence[str], op: str, operand: Any
    ) -> Expr:
        hits = [self.compare(path, "eq", o) for o in operand]
        if op == "in":
            return sa.or_(sa.false(), *hits)
        typed = [self._typed(kind, o) for o in operand]
        return sa.and_(sa.or_(sa.false(), *typed), sa.not_(sa.or_(sa.false(), *hits)))

    @staticmethod
    def _typed(kind: sa.ColumnElement[str], operand: Any) -> Expr:
        if isinstance(operand, bool):
            return kind.in_(["true", "false"])
        return kind == ("number" if isinstance(operand, int | float) else "string")


def _strings(op: str, operand: Any) -> bool:
    if op == "eq":
        return isinstance(operand, str)
    return op == "in" and all(isinstance(o, str) for o in operand)


_OPERATORS: Final[dict[str, Callable[[Any, Any], Any]]] = {
    "eq": operator.eq,
    "ne": operator.ne,
    "gt": operator.gt,
    "gte": operator.ge,
    "lt": operator.lt,
    "lte": operator.le,
}


def _op(value: sa.ColumnElement[Any], op: str, operand: Any) -> Expr:
    result: Expr = _OPERATORS[op](value, operand)
    return result


@dataclass(frozen=True, slots=True)
class _Ctx:
    segment: seg.Segment
    now: dt.datetime
    dialect: str


def consent_not_refused(key: str, dialect: str) -> Expr:
    """The profile's resolved consent ``key`` (``*:sharing``) is not an explicit refusal."""
    return _Json(_P.c.consent, dialect).kind((key,)) != "false"


def compile_condition(segment: seg.Segment, now: dt.datetime, dialect: str) -> Expr:
    """The segment's condition as a boolean over ``tables.profiles`` at ``now``."""
    return _node(segment.condition, _Ctx(segment, utc(now), dialect))


def _node(node: seg.Condition, ctx: _Ctx) -> Expr:  # noqa: PLR0911 (one case per kind)
    if isinstance(node, seg.All):
        return sa.and_(sa.true(), *(_node(i, ctx) for i in node.items))
    if isinstance(node, seg.AnyOf):
        return sa.or_(sa.false(), *(_node(i, ctx) for i in node.items))
    if isinstance(node, seg.Not):
        return sa.not_(_node(node.item, ctx))
    if isinstance(node, seg.FactIs):  # facts are single values: none holds a list
        return sa.false() if node.op == "contains" else _fact(node, ctx)
    if isinstance(node, seg.TraitIs):
        return _Json(_P.c.traits, ctx.dialect).compare(node.path, node.op, node.value)
    if isinstance(node, seg.ConsentIs):
        kind = _Json(_P.c.consent, ctx.dialect).kind((f"{node.channel}:{node.purpose}",))
        if node.granted is None:
            return kind.in_(["", "null"])
        return kind == ("true" if node.granted else "false")
    if isinstance(node, seg.RfmIs):
        rfm_ops = seg.OPS - {"contains", "in", "not_in", "exists", "missing"}
        return _op(_rfm(node.score, ctx), node.op, node.value) if node.op in rfm_ops else sa.false()
    if isinstance(node, seg.Performed):
        return _performed(node, ctx)
    if isinstance(node, seg.NotPerformedSince):
        return sa.not_(_P.c.profile_id.in_(_who(node.event, node.where, ctx, since=node)))
    raise TypeError(f"not a segment condition: {node!r}")


def _fact(node: seg.FactIs, ctx: _Ctx) -> Expr:
    col: sa.ColumnElement[Any] = _P.c[node.fact]
    present = col.is_not(None)
    op, operand = node.op, node.value
    if op in ("exists", "missing"):
        return present if op == "exists" else col.is_(None)
    if op in ("within", "before"):
        edge = ctx.now - operand
        return sa.and_(present, col > edge if op == "within" else col <= edge)
    kind = seg.FACTS[node.fact]
    if op in ("in", "not_in"):
        fit = [o for o in operand if _fits(kind, o)]
        if not fit:
            return sa.false()
        return sa.and_(present, col.in_(fit) if op == "in" else col.not_in(fit))
    if not _fits(kind, operand):
        return sa.false()
    if isinstance(operand, dt.datetime):
        operand = utc(operand)
    return sa.and_(present, _op(col, op, operand))


def _fits(kind: str, operand: object) -> bool:
    if kind == "num":
        return isinstance(operand, int | float) and not isinstance(operand, bool)
    if kind == "time":
        return isinstance(operand, dt.datetime)
    return isinstance(operand, str)


def _rfm(score: str, ctx: _Ctx) -> sa.ColumnElement[int]:
    config = ctx.segment.config
    last = _P.c.last_order_at
    if score == "recency":
        older = [
            sa.case((last < ctx.now - dt.timedelta(days=d), 1), else_=0)
            for d in config.recency_days
        ]
        body: sa.ColumnElement[int] = 5 - sum(older[1:], older[0])
    elif score == "frequency":
        steps = [sa.case((_P.c.order_count >= n, 1), else_=0) for n in config.frequency_orders]
        body = 1 + sum(steps[1:], steps[0])
    else:
        steps = [sa.case((_P.c.revenue >= m, 1), else_=0) for m in config.monetary_total]
        body = 1 + sum(steps[1:], steps[0])
    return sa.case((last.is_(None), 1), else_=body)


def _performed(node: seg.Performed, ctx: _Ctx) -> Expr:
    parts: list[Expr] = []
    if node.at_least is not None and node.at_least > 0:
        parts.append(_P.c.profile_id.in_(_who(node.event, node.where, ctx, node, node.at_least)))
    if node.at_most is not None:
        many = _who(node.event, node.where, ctx, node, node.at_most + 1)
        parts.append(sa.not_(_P.c.profile_id.in_(many)))
    return sa.and_(sa.true(), *parts)


def _who(
    event: str,
    where: Sequence[seg.PropertyIs],
    ctx: _Ctx,
    since: seg.Performed | seg.NotPerformedSince,
    at_least: int = 1,
) -> sa.Select[tuple[str]]:
    """Profiles with at least ``at_least`` matching events in the node's window.

    An event counts for its own profile, and for the survivor when its profile was merged:
    the second part walks only the merged profiles (``redirect_to`` index) instead of
    looking up the profile of every event in the window. Merged ids also appear as owners
    of their own events; they are not live, so no live profile matches them.
    """
    start = ctx.now - since.within
    body = _Json(_E.c.body, ctx.dialect, ("properties",))
    filters = [body.compare(p.path, p.op, p.value) for p in where]
    merged = _P.alias("merged")
    own = sa.select(_E.c.profile_id.label("owner"), _E.c.timestamp.label("at")).where(
        _E.c.profile_id.is_not(None),
        _E.c.event == event,
        _E.c.timestamp > start,
        _E.c.timestamp <= ctx.now,
        *filters,
    )
    # coalesce(x, x) is x, but hides the (event, timestamp) index from the planner: this
    # part must start from the few merged profiles, not from every event in the window.
    name, at = (
        sa.func.coalesce(_E.c.event, _E.c.event),
        sa.func.coalesce(_E.c.timestamp, _E.c.timestamp),
    )
    moved = (
        sa.select(merged.c.redirect_to.label("owner"), _E.c.timestamp.label("at"))
        .select_from(merged.join(_E, _E.c.profile_id == merged.c.profile_id))
        .where(
            merged.c.redirect_to > "",  # not null, said so that the index serves it
            name == event,
            at > start,
            at <= ctx.now,
            *filters,
        )
    )
    hits = sa.union_all(own, moved).subquery("hits")
    query = sa.select(hits.c.owner)
    if isinstance(since, seg.NotPerformedSince) and since.since_fact:
        live = _P.alias("owner")
        anchor = live.c[since.since_fact]
        query = query.join(live, live.c.profile_id == hits.c.owner).where(
            sa.or_(anchor.is_(None), hits.c.at > anchor)
        )
    if at_least > 1:
        return query.group_by(hits.c.owner).having(sa.func.count() >= at_least)
    return query


# --- the store of segments -----------------------------------------------------------------
