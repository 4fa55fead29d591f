"""The journey grammar: YAML or JSON files -> validated journey specs.

Every problem of a file is collected, not only the first, and each names where it is:
``cart.yaml:12: nodes[2].next: no node 'emial'``. They are raised together as
:class:`InvalidJourney` (an :class:`~juncture.errors.InvalidDefinition`) whose ``where`` is the
first problem's ``file:line`` and whose ``problems`` lists them all. The format is described by
``juncture/definitions/journeys.schema.json``; the ready journeys are in
``juncture/library/journeys``.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Collection, Mapping
from pathlib import Path
from typing import Any, Final

from juncture import library as shipped
from juncture.core.journeys import expr
from juncture.core.journeys import spec as s
from juncture.definitions import content
from juncture.definitions import journey_nodes as nodes
from juncture.definitions.reader import PathT, Problem, Reader, line_of
from juncture.errors import InvalidDefinition

LIBRARY: Final = shipped.JOURNEYS
SCHEMA: Final = Path(__file__).parent / "journeys.schema.json"

_TOP: Final = frozenset(
    {"id", "version", "name", "priority", "entry", "goal", "exit_when", "holdout", "nodes"}
    | {"send_window"}
)
_ID: Final = re.compile(r"^[A-Za-z0-9_.-]+$")


class InvalidJourney(InvalidDefinition):
    """A definition with problems, all of them in ``problems``."""

    def __init__(self, problems: list[Problem]):
        text = "\n".join(str(p) for p in problems)
        super().__init__(text, where=problems[0].where)
        self.problems = tuple(problems)


def load(path: str | Path) -> s.JourneySpec:
    """Read and validate one definition file (``.yaml``, ``.yml`` or ``.json``)."""
    path = Path(path)
    return loads(path.read_text(encoding="utf-8"), str(path))


def load_library() -> list[s.JourneySpec]:
    """The ready journeys shipped with Juncture."""
    return [load(p) for p in sorted(LIBRARY.glob("*.yaml"))]


def schema() -> dict[str, Any]:
    """The published JSON Schema of the definition format."""
    loaded: dict[str, Any] = json.loads(SCHEMA.read_text(encoding="utf-8"))
    return loaded


def loads(
    text: str, filename: str = "<string>", templates: Collection[str] | None = None
) -> s.JourneySpec:
    """Validate a definition given as text; ``filename`` (its suffix picks JSON) names it.
    ``templates``: the template names that exist (shipped, the retailer's folder, uploaded);
    when given, a send node naming another is a problem at its ``template``."""
    reader = JourneyReader(filename, templates)
    data = reader.parse(text)
    if isinstance(data, Mapping):
        journey = reader.journey(data)
        if not reader.problems and journey is not None:
            return journey
    elif not reader.problems:
        reader.problem((), "a definition is a mapping with id, version, name and nodes")
    raise InvalidJourney(sorted(reader.problems, key=line_of))


def _known(name: str, names: Collection[str]) -> str:
    """Where templates come from, and the name a missing one may have meant."""
    near = difflib.get_close_matches(name, sorted(names), n=1)
    hint = f"; did you mean {near[0]!r}?" if near else ""
    return f"not shipped, in JUNCTURE_TEMPLATES_DIR or uploaded{hint}"


def _flatten(props: Mapping[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for key, value in props.items():
        if isinstance(value, Mapping):
            out.extend(_flatten(value, f"{prefix}{key}."))
        else:
            out.append((f"{prefix}{key}", value))
    return out


class JourneyReader(Reader):
    """The journey grammar over the shared reader."""

    def __init__(self, filename: str, templates: Collection[str] | None = None):
        super().__init__(filename)
        self.edges: list[tuple[PathT, str]] = []
        self.templates = templates

    def template(self, raw: Mapping[str, Any], path: PathT) -> str | None:
        """A send node's named template, a problem when it is not among the known ones."""
        name: str | None = self.text(raw, path, "template")
        if name is not None and self.templates is not None and name not in self.templates:
            known = _known(name, self.templates)
            self.problem((*path, "template"), f"no template {name!r}: {known}")
        return name

    def expression(self, source: object, path: PathT) -> expr.Expr | None:
        if not isinstance(source, str):
            self.problem(path, f"a condition is a string, not {source!r}")
            return None
        try:
            return expr.parse(source)
        except expr.ExprError as exc:
            self.problem(path, f"bad expression {source!r}: {exc}")
            return None

    def dotted(self, data: Mapping[str, Any], path: PathT, key: str) -> tuple[str, ...] | None:
        value = self.text(data, path, key, need=False)
        if value is None:
            return None
        parsed = self.expression(value, (*path, key))
        if parsed is not None and not isinstance(parsed, expr.Path):
            self.problem((*path, key), f"{key!r} must be a path such as event.properties.cart_id")
            return None
        return parsed.parts if isinstance(parsed, expr.Path) else None

    def match(self, raw: object, path: PathT, extra: frozenset[str] = frozenset()) -> Any:
        """An event match from ``"Name"`` or ``{event, properties, where}``."""
        if isinstance(raw, str):
            return s.EventMatch(raw)
        if not isinstance(raw, Mapping):
            self.problem(path, "an event is a name or a mapping with 'event'")
            return None
        self.known(raw, path, nodes.MATCH | extra)
        name = self.text(raw, path, "event")
        props = self.get(raw, path, "properties", dict, False) or {}
        where = raw.get("where")
        parsed = None if where is None else self.expression(where, (*path, "where"))
        if name is None:
            return None
        return s.EventMatch(name, tuple(_flatten(props)), parsed)

    # -- the journey -----------------------------------------------------------------------------
    def journey(self, data: Mapping[str, Any]) -> s.JourneySpec | None:
        self.known(data, (), _TOP)
        jid = self.text(data, (), "id")
        if jid is not None and not _ID.match(jid):
            self.problem(("id",), "an id uses letters, digits, '_', '-' and '.' only")
        version = self.get(data, (), "version", int, True)
        name = self.text(data, (), "name")
        priority = self.get(data, (), "priority", int, False) or 0
        holdout = self.get(data, (), "holdout", float, False) or 0.0
        if not 0 <= holdout < 100:
            self.problem(("holdout",), "holdout is a percentage from 0 to below 100")
        entry = self.entry(data.get("entry"))
        goal = self.goal(data.get("goal"))
        exits = self.exits(data.get("exit_when"))
        graph = self.graph(data.get("nodes"))
        window = content.window(self, data)
        if jid is None or version is None or name is None or graph is None:
            return None
        return s.JourneySpec(
            jid, version, name, graph, priority, entry, goal, exits, holdout, window
        )

    def entry(self, raw: object) -> s.EntryRules:
        path: PathT = ("entry",)
        if raw is None:
            return s.EntryRules()
        if not isinstance(raw, Mapping):
            self.problem(path, "entry is a mapping with reentry, cooldown and key")
            return s.EntryRules()
        self.known(raw, path, frozenset({"reentry", "cooldown", "key"}))
        reentry: Any = self.text(raw, path, "reentry", need=False) or "always"
        if reentry not in s.REENTRY:
            self.problem((*path, "reentry"), f"reentry is one of {', '.join(s.REENTRY)}")
            reentry = "always"
        cooldown = None
        if reentry == "cooldown":
            cooldown = self.duration(raw, path, "cooldown")
        elif "cooldown" in raw:
            self.problem((*path, "cooldown"), "cooldown needs reentry: cooldown")
        return s.EntryRules(reentry, cooldown, self.dotted(raw, path, "key"))

    def goal(self, raw: object) -> s.Goal | None:
        path: PathT = ("goal",)
        if raw is None:
            return None
        match = self.match(raw, path, frozenset({"within", "exit", "key", "settles"}))
        if match is None or not isinstance(raw, Mapping):
            return None
        within = self.duration(raw, path, "within") if "within" in raw else None
        leave = self.get(raw, path, "exit", bool, False)
        key = self.dotted(raw, path, "key")
        settles = self.settles(raw, path, match)
        if "settles" in raw and key is not None:
            self.problem((*path, "key"), "give key or settles, not both: settles links the order")
        return s.Goal(match, within, True if leave is None else leave, key, settles)

    def settles(self, raw: Mapping[str, Any], path: PathT, match: s.EventMatch) -> bool:
        """``settles: true``, which only an order can do."""
        settles = bool(self.get(raw, path, "settles", bool, False))
        if settles and match.event != s.SETTLED_BY:
            self.problem((*path, "settles"), f"settles is for the event {s.SETTLED_BY!r}")
        return settles

    def exits(self, raw: object) -> tuple[s.EventMatch, ...]:
        if raw is None:
            return ()
        if not isinstance(raw, list):
            self.problem(("exit_when",), "exit_when is a list of events")
            return ()
        found = (self.match(item, ("exit_when", i)) for i, item in enumerate(raw))
        return tuple(m for m in found if m is not None)

    def graph(self, raw: object) -> dict[str, s.AnyNode] | None:
        if not isinstance(raw, list) or not raw:
            self.problem(("nodes",), "nodes is a non-empty list of nodes")
            return None
        built: dict[str, s.AnyNode] = {}
        paths: dict[str, PathT] = {}
        for index, item in enumerate(raw):
            node_id, node = self.node(item, ("nodes", index), paths)
            if node is not None and node_id is not None:
                built[node_id] = node
        self.check_graph(built, paths)
        return built if len(built) == len(raw) else None

    def node(self, item: object, path: PathT, paths: dict[str, PathT]) -> tuple[Any, Any]:
        if not isinstance(item, Mapping):
            self.problem(path, "a node is a mapping with id and type")
            return None, None
        node_id, kind = self.text(item, path, "id"), self.text(item, path, "type")
        if node_id is None or kind is None:
            return None, None
        if node_id in paths:
            self.problem((*path, "id"), f"duplicate node id {node_id!r}")
            return None, None
        paths[node_id] = path
        if kind not in nodes.BUILDERS:
            known = ", ".join(sorted(nodes.BUILDERS))
            self.problem((*path, "type"), f"unknown node type {kind!r} (one of {known})")
            return None, None
        fields, build = nodes.BUILDERS[kind]
        self.known(item, path, fields | {"id", "type"})
        return node_id, build(self, item, path, node_id)

    def check_graph(self, built: dict[str, s.AnyNode], paths: dict[str, PathT]) -> None:
        for field_path, target in self.edges:
            if target not in paths:
                self.problem(field_path, f"dangling next: there is no node {target!r}")
            elif isinstance(built.get(target), s.Trigger):
                self.problem(field_path, f"{target!r} is a trigger: nothing may lead into one")
        if not any(isinstance(n, s.Trigger) for n in built.values()):
            self.problem(("nodes",), "missing trigger: a journey needs a node of type trigger")
        if len(built) != len(paths):
            return  # a node that did not build hides its edges: more checks would mislead
        for node_id in s.unreachable(built):
            self.problem(paths[node_id], f"node {node_id!r} is unreachable from every trigger")
        for loop in s.loops_without_wait(built):
            shown = " -> ".join(loop)
            self.problem(paths[loop[0]], f"cycle without a wait would loop forever: {shown}")

    def next(self, raw: Mapping[str, Any], path: PathT, key: str = "next") -> Any:
        target = self.text(raw, path, key)
        if target is not None:
            self.edges.append(((*path, key), target))
        return target

    def choice(
        self, raw: Mapping[str, Any], path: PathT, key: str, options: tuple[str, ...]
    ) -> Any:
        value = self.text(raw, path, key)
        if value is not None and value not in options:
            self.problem((*path, key), f"{key} {value!r} is not one of {', '.join(options)}")
            return None
        return value

    def one_of(self, raw: Mapping[str, Any], path: PathT, keys: tuple[str, ...]) -> str | None:
        present = [k for k in keys if k in raw]
        if len(present) != 1:
            self.problem(path, f"give exactly one of {', '.join(keys)}")
            return None
        return present[0]


# -- node builders: each returns the node, or None after recording its problems --------------
