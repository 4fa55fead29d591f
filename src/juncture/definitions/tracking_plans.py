"""Tracking plans: what a source may send, as a JSON Schema per event name, in the shape of
Segment Protocols' tracking plans (``rules.events[].rules``, ``rules.identify``,
``rules.group``, ``rules.global``), plus what to do with a message that breaks them.

::

    name: Web storefront
    violations: flag        # flag (kept, with context.violations) | quarantine
    unplanned: flag         # track events the plan does not name: allow | flag | quarantine
    rules:
      events:
        - name: Order Completed
          rules:            # a JSON Schema of the whole message (draft-07 unless $schema)
            type: object
            required: [properties]
            properties:
              properties:
                type: object
                required: [order_id, total]
                properties:
                  order_id: {type: string}
                  total: {type: number, minimum: 0}
      identify: {type: object, properties: {traits: {required: [email]}}}

Every schema is checked against its meta-schema when the plan is read; a problem is
reported as ``file:line: path: message``. A ``$ref`` may point only into its own schema
(``#/...``): nothing is fetched.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal, cast

import jsonschema
import jsonschema.exceptions
import jsonschema.protocols
import jsonschema.validators
import jsonschema_rs

from juncture.definitions.reader import Reader
from juncture.errors import InvalidDefinition

Mode = Literal["flag", "quarantine"]
UnplannedMode = Literal["allow", "flag", "quarantine"]
MODES: Final = ("flag", "quarantine")
UNPLANNED_MODES: Final = ("allow", "flag", "quarantine")
_TOP: Final = frozenset({"name", "display_name", "description", "violations", "unplanned", "rules"})
_RULES: Final = frozenset({"events", "identify", "group", "global"})
_EVENT: Final = frozenset({"name", "description", "version", "rules"})
PathT = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Schema:
    """One schema compiled twice: ``fast`` (jsonschema-rs, about a microsecond a message)
    decides on the ingestion path whether a message is valid, and ``errors`` (jsonschema)
    describes what is wrong, only with one that is not."""

    fast: Any
    errors: jsonschema.protocols.Validator

    def iter_errors(
        self, document: dict[str, Any]
    ) -> Iterator[jsonschema.exceptions.ValidationError]:
        if self.fast.is_valid(document):
            return iter(())
        return self.errors.iter_errors(document)


@dataclass(frozen=True)
class TrackingPlan:
    """A source's plan, with its schemas compiled (``validators``: by event name; ``kinds``:
    ``identify``/``group``; ``common``: the ``global`` schema for every message)."""

    name: str
    violations: Mode = "flag"
    unplanned: UnplannedMode = "flag"
    events: Mapping[str, Schema] = field(default_factory=dict)
    kinds: Mapping[str, Schema] = field(default_factory=dict)
    common: Schema | None = None


class _PlanReader(Reader):
    def plan(self, data: object) -> TrackingPlan | None:
        if not isinstance(data, Mapping):
            self.problem((), "a tracking plan is a mapping with `rules: {events: [...]}`")
            return None
        self.known(data, (), _TOP)
        name = self.text(data, (), "name", need=False) or self.text(data, (), "display_name")
        violations = self._choice(data, "violations", MODES, "flag")
        unplanned = self._choice(data, "unplanned", UNPLANNED_MODES, "flag")
        rules = data.get("rules") or {}
        if not isinstance(rules, Mapping):
            self.problem(("rules",), "rules is a mapping of events, identify, group, global")
            return None
        self.known(rules, ("rules",), _RULES)
        events = self._events(rules.get("events") or [])
        kinds = {
            kind: v
            for kind in ("identify", "group")
            if kind in rules and (v := self._schema(rules[kind], ("rules", kind))) is not None
        }
        common = self._schema(rules["global"], ("rules", "global")) if "global" in rules else None
        if self.problems or name is None:
            return None
        return TrackingPlan(
            name, cast(Mode, violations), cast(UnplannedMode, unplanned), events, kinds, common
        )

    def _choice(
        self, data: Mapping[str, Any], key: str, allowed: tuple[str, ...], default: str
    ) -> str:
        value = data.get(key, default)
        if value not in allowed:
            self.problem((key,), f"{key} is one of {', '.join(allowed)}")
            return default
        return str(value)

    def _events(self, raw: object) -> dict[str, Schema]:
        if not isinstance(raw, list):
            self.problem(("rules", "events"), "events is a list of {name, rules}")
            return {}
        out: dict[str, Schema] = {}
        for index, item in enumerate(raw):
            path: PathT = ("rules", "events", index)
            if not isinstance(item, Mapping):
                self.problem(path, "an event rule is {name, rules}")
                continue
            self.known(item, path, _EVENT)
            name = self.text(item, path, "name")
            if name in out:
                self.problem((*path, "name"), f"{name!r} is planned twice")
            validator = self._schema(item.get("rules") or {}, (*path, "rules"))
            if name is not None and validator is not None:
                out[name] = validator
        return out

    def _schema(self, schema: object, path: PathT) -> Schema | None:
        if not isinstance(schema, Mapping):
            self.problem(path, "a JSON Schema (a mapping)")
            return None
        cls = jsonschema.validators.validator_for(schema, default=jsonschema.Draft7Validator)
        try:
            cls.check_schema(dict(schema))
        except jsonschema.exceptions.SchemaError as exc:
            self.problem((*path, *exc.path), f"not a valid JSON Schema: {exc.message}")
            return None
        for ref_path, ref in _refs(schema, path):
            if not ref.startswith("#"):
                self.problem(
                    ref_path, f"$ref {ref!r} points outside the schema: nothing is fetched"
                )
                return None
        declared = {"$schema": cls.META_SCHEMA["$schema"], **schema}
        return Schema(jsonschema_rs.validator_for(declared), cls(dict(schema)))


def _refs(node: object, path: PathT) -> Iterator[tuple[PathT, str]]:
    if isinstance(node, Mapping):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield (*path, key), value
            else:
                yield from _refs(value, (*path, str(key)))
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from _refs(item, (*path, index))


def parse(text: str, filename: str = "plan.yaml") -> TrackingPlan:
    """The plan in ``text`` (YAML, or JSON when ``filename`` ends in .json); raises
    :class:`InvalidDefinition` listing every problem as ``file:line: path: message``."""
    reader = _PlanReader(filename)
    data = reader.parse(text)
    plan = reader.plan(data) if not reader.problems else None
    if plan is None:
        raise InvalidDefinition("\n".join(map(str, reader.problems)) or f"{filename}: no plan")
    return plan
