"""The segment grammar: YAML or JSON files -> a validated
:class:`~juncture.core.segments.conditions.Segment`.

The format (every problem is collected and named ``file:line: path: message``)::

    id: high-intent-berlin
    name: High-intent shoppers in Berlin
    description: optional text
    where:                      # one condition
      all:                      # all / any: a list of conditions; not: one condition
        - fact: city            # a profile fact (geography, computed figures, stage, times)
          eq: Berlin
        - trait: plan.tier      # a dotted path into the traits
          in: [gold, silver]
        - consent: email:marketing
          is: granted           # granted | denied | unknown
        - rfm: recency          # recency | frequency | monetary, scores 1-5
          gte: 4
        - stage: decision       # journey stage (short for fact: stage, eq: ...)
        - performed: Product Viewed
          where: {category: Women > Shoes > Running, price: {lt: 100}}
          at_least: 3           # at_least (default 1) / at_most
          within: 7d
        - not_performed: Order Completed
          within: 30d
          since: last_order_at  # optional: a time fact as the anchor

A comparison is one operator key: ``eq ne in not_in gt gte lt lte`` with a value, ``exists``
or ``missing`` with ``true``; time facts also take ``within``/``before`` with a duration.
Traits and event properties also take ``contains`` with a value: a list holding it
(``{trait: interests, contains: yoga}``); ``in`` matches a list holding one of its values.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, Final

from juncture import library as shipped
from juncture.core import stage
from juncture.core.segments import conditions as seg
from juncture.definitions.reader import Problem, Reader, parse_duration
from juncture.errors import InvalidDefinition

LIBRARY: Final = shipped.SEGMENTS
PathT = tuple[str | int, ...]

_TOP: Final = frozenset({"id", "name", "description", "where"})
_ID_CHARS: Final = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")
_LEAVES: Final = ("all", "any", "not", "fact", "trait", "consent", "rfm", "stage", "performed",
                  "not_performed")  # fmt: skip
_CONSENT: Final[Mapping[str, bool | None]] = {"granted": True, "denied": False, "unknown": None}
_VALUE_OPS: Final = ("eq", "ne", "gt", "gte", "lt", "lte")
_FLAG_OPS: Final = ("exists", "missing")
_LIST_OPS: Final = ("in", "not_in")
_STAGES: Final = tuple(s.value for s in stage.Stage)


class InvalidSegment(InvalidDefinition):
    """A segment definition with problems, all of them in ``problems``."""

    def __init__(self, problems: list[Problem]):
        super().__init__("\n".join(str(p) for p in problems), where=problems[0].where)
        self.problems = tuple(problems)


def load(path: str | Path) -> seg.Segment:
    """Read and validate one definition file (``.yaml``, ``.yml`` or ``.json``)."""
    path = Path(path)
    return loads(path.read_text(encoding="utf-8"), str(path))


def library() -> list[Path]:
    """The ready segment files shipped with Juncture."""
    return sorted(LIBRARY.glob("*.yaml"))


def loads(text: str, filename: str = "<string>") -> seg.Segment:
    """Validate a definition given as text; ``filename`` (its suffix picks JSON) names it."""
    reader = _SegmentReader(filename)
    data = reader.parse(text)
    if isinstance(data, Mapping):
        found = reader.segment(data)
        if found is not None and not reader.problems:
            return found
    elif not reader.problems:
        reader.problem((), "a segment is a mapping with id, name and where")
    raise InvalidSegment(sorted(reader.problems, key=_line))


def _line(problem: Problem) -> int:
    _, _, line = problem.where.rpartition(":")
    return int(line) if line.isdigit() else 0


class _SegmentReader(Reader):
    def segment(self, data: Mapping[str, Any]) -> seg.Segment | None:
        self.known(data, (), _TOP)
        sid, name = self.text(data, (), "id"), self.text(data, (), "name")
        if sid is not None and (not sid or not set(sid) <= _ID_CHARS or len(sid) > 100):
            self.problem(("id",), "an id is 1-100 letters, digits, '_', '-' and '.'")
        description = self.text(data, (), "description", need=False) or ""
        if "where" not in data:
            self.problem((), "missing 'where'")
            return None
        condition = self.condition(data["where"], ("where",))
        if sid is None or name is None or condition is None:
            return None
        return seg.Segment(sid, name, condition, description)

    # -- conditions ------------------------------------------------------------------------
    def condition(self, raw: object, path: PathT) -> seg.Condition | None:
        if not isinstance(raw, Mapping):
            self.problem(path, f"a condition is a mapping with one of {', '.join(_LEAVES)}")
            return None
        kinds = [k for k in _LEAVES if k in raw]
        if len(kinds) != 1:
            self.problem(path, f"a condition has exactly one of {', '.join(_LEAVES)}")
            return None
        build = getattr(self, f"_{kinds[0]}")
        result: seg.Condition | None = build(raw, path)
        return result

    def _group(self, raw: Mapping[str, Any], path: PathT, key: str) -> list[Any] | None:
        self.known(raw, path, frozenset({key}))
        items = raw[key]
        if not isinstance(items, list) or not items:
            self.problem((*path, key), f"{key!r} is a non-empty list of conditions")
            return None
        built = [self.condition(item, (*path, key, i)) for i, item in enumerate(items)]
        return None if any(b is None for b in built) else built

    def _all(self, raw: Mapping[str, Any], path: PathT) -> seg.Condition | None:
        items = self._group(raw, path, "all")
        return None if items is None else seg.All(tuple(items))

    def _any(self, raw: Mapping[str, Any], path: PathT) -> seg.Condition | None:
        items = self._group(raw, path, "any")
        return None if items is None else seg.AnyOf(tuple(items))

    def _not(self, raw: Mapping[str, Any], path: PathT) -> seg.Condition | None:
        self.known(raw, path, frozenset({"not"}))
        item = self.condition(raw["not"], (*path, "not"))
        return None if item is None else seg.Not(item)

    def _fact(self, raw: Mapping[str, Any], path: PathT) -> seg.Condition | None:
        name = self.text(raw, path, "fact")
        if name is None:
            return None
        kind = seg.FACTS.get(name)
        if kind is None:
            self.problem((*path, "fact"), f"unknown fact {name!r} (one of {', '.join(seg.FACTS)})")
            return None
        timed = ("within", "before") if kind == "time" else ()
        found = self.comparison(raw, path, "fact", timed)
        if found is None:
            return None
        op, value = found
        if name == "stage" and op in ("eq", "ne", "in", "not_in"):
            values = value if isinstance(value, list | tuple) else [value]
            for v in values:
                if v not in _STAGES:
                    self.problem((*path, op), f"unknown stage {v!r} (one of {', '.join(_STAGES)})")
        if op not in ("exists", "missing", "within", "before") and not _fits(kind, value):
            self.problem((*path, op), f"fact {name!r} holds {_KIND_TEXT[kind]}, not {value!r}")
            return None
        return seg.FactIs(name, op, value)

    def _stage(self, raw: Mapping[str, Any], path: PathT) -> seg.Condition | None:
        self.known(raw, path, frozenset({"stage"}))
        value = raw["stage"]
        values = value if isinstance(value, list) else [value]
        bad = [v for v in values if v not in _STAGES]
        if bad or not values:
            self.problem((*path, "stage"), f"stage is one of {', '.join(_STAGES)} (or a list)")
            return None
        if isinstance(value, list):
            return seg.FactIs("stage", "in", tuple(values))
        return seg.FactIs("stage", "eq", value)

    def _trait(self, raw: Mapping[str, Any], path: PathT) -> seg.Condition | None:
        name = self.text(raw, path, "trait")
        found = self.comparison(raw, path, "trait", ("contains",))
        if name is None or found is None:
            return None
        return seg.TraitIs(tuple(name.split(".")), *found)

    def _consent(self, raw: Mapping[str, Any], path: PathT) -> seg.Condition | None:
        self.known(raw, path, frozenset({"consent", "is"}))
        name = self.text(raw, path, "consent")
        state = self.text(raw, path, "is")
        if name is None or state is None:
            return None
        channel, _, purpose = name.partition(":")
        purpose = purpose or "marketing"
        ok = True
        if channel not in seg.CHANNELS or purpose not in seg.PURPOSES:
            self.problem(
                (*path, "consent"),
                f"consent is channel:purpose with a channel of {', '.join(seg.CHANNELS)} "
                f"and a purpose of {', '.join(seg.PURPOSES)}",
            )
            ok = False
        if state not in _CONSENT:
            self.problem((*path, "is"), f"'is' is one of {', '.join(_CONSENT)}")
            ok = False
        return seg.ConsentIs(channel, purpose, _CONSENT[state]) if ok else None

    def _rfm(self, raw: Mapping[str, Any], path: PathT) -> seg.Condition | None:
        score = self.text(raw, path, "rfm")
        found = self.comparison(raw, path, "rfm")
        if score is not None and score not in seg.RFM_SCORES:
            self.problem((*path, "rfm"), f"rfm is one of {', '.join(seg.RFM_SCORES)}")
            return None
        if score is None or found is None:
            return None
        op, value = found
        if op not in _VALUE_OPS or not isinstance(value, int) or isinstance(value, bool):
            self.problem((*path, op), "an RFM score compares (eq, gt, gte, ...) with 1 to 5")
            return None
        return seg.RfmIs(score, op, value)

    def _performed(self, raw: Mapping[str, Any], path: PathT) -> seg.Condition | None:
        self.known(raw, path, frozenset({"performed", "where", "within", "at_least", "at_most"}))
        event = self.text(raw, path, "performed")
        within = self.duration(raw, path, "within")
        where = self.where(raw, path)
        at_least = self.get(raw, path, "at_least", int, False)
        at_most = self.get(raw, path, "at_most", int, False)
        if "at_least" not in raw:
            at_least = 1
        for key, n in (("at_least", at_least), ("at_most", at_most)):
            if n is not None and n < 0:
                self.problem((*path, key), f"{key} is 0 or more")
        if at_least is not None and at_most is not None and at_most < at_least:
            self.problem((*path, "at_most"), "at_most is below at_least: nobody could match")
        if event is None or within is None or where is None:
            return None
        return seg.Performed(event, within, where, at_least, at_most)

    def _not_performed(self, raw: Mapping[str, Any], path: PathT) -> seg.Condition | None:
        self.known(raw, path, frozenset({"not_performed", "where", "within", "since"}))
        event = self.text(raw, path, "not_performed")
        within = self.duration(raw, path, "within") if "within" in raw else seg.DEFAULT_CAP
        since = self.text(raw, path, "since", need=False)
        if since is not None and seg.FACTS.get(since) != "time":
            times = ", ".join(k for k, v in seg.FACTS.items() if v == "time")
            self.problem((*path, "since"), f"since is a time fact ({times})")
            return None
        where = self.where(raw, path)
        if event is None or within is None or where is None:
            return None
        return seg.NotPerformedSince(event, within, since, where)

    # -- comparisons -----------------------------------------------------------------------
    def comparison(
        self, raw: Mapping[str, Any], path: PathT, subject: str, extra: tuple[str, ...] = ()
    ) -> tuple[str, Any] | None:
        ops = (*_VALUE_OPS, *_LIST_OPS, *_FLAG_OPS, *extra)
        self.known(raw, path, frozenset({subject, *ops}))
        given = [op for op in ops if op in raw]
        if len(given) != 1:
            self.problem(path, f"give exactly one operator: {', '.join(ops)}")
            return None
        return self.operand(given[0], raw[given[0]], (*path, given[0]))

    def operand(self, op: str, value: object, path: PathT) -> tuple[str, Any] | None:
        if op in (*_FLAG_OPS, "within", "before"):
            return self.special(op, value, path)
        if op in _LIST_OPS:
            if not isinstance(value, list) or not value or not all(map(_scalar, value)):
                self.problem(path, f"{op!r} takes a non-empty list of strings, numbers or booleans")
                return None
            return op, tuple(value)
        if not _scalar(value):
            self.problem(path, f"{op!r} takes a string, number or boolean, not {value!r}")
            return None
        return op, value

    def special(self, op: str, value: object, path: PathT) -> tuple[str, Any] | None:
        if op in _FLAG_OPS:
            if value is not True:
                self.problem(path, f"write '{op}: true'")
                return None
            return op, None
        try:
            return op, parse_duration(value)
        except ValueError as exc:
            self.problem(path, str(exc))
            return None

    def where(self, raw: Mapping[str, Any], path: PathT) -> tuple[seg.PropertyIs, ...] | None:
        given = raw.get("where") or {}
        here = (*path, "where")
        if not isinstance(given, Mapping):
            self.problem(here, "where maps property paths to a value or {operator: value}")
            return None
        out: list[seg.PropertyIs] = []
        ok = True
        for key, spec in given.items():
            key_path = (*here, str(key))
            if isinstance(spec, Mapping):
                ops = [op for op in (*_VALUE_OPS, *_LIST_OPS, *_FLAG_OPS, "contains") if op in spec]
                if len(ops) != 1 or len(spec) != 1:
                    self.problem(key_path, "give exactly one operator, e.g. {lt: 100}")
                    ok = False
                    continue
                found = self.operand(ops[0], spec[ops[0]], (*key_path, ops[0]))
            else:
                found = self.operand("eq", spec, key_path)
            if found is None:
                ok = False
                continue
            out.append(seg.PropertyIs(tuple(str(key).split(".")), *found))
        return tuple(out) if ok else None


_KIND_TEXT: Final = {"str": "text", "num": "numbers", "time": "times"}


def _fits(kind: str, value: object) -> bool:
    values = value if isinstance(value, tuple) else (value,)
    if kind == "num":
        return all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
    if kind == "str":
        return all(isinstance(v, str) for v in values)
    return False  # time facts compare with within/before, exists and missing


def _scalar(value: object) -> bool:
    return isinstance(value, str | int | float | bool)
