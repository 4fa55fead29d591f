"""The journey grammar: YAML or JSON files -> validated journey specs.

Every problem of a file is collected, not only the first, and each names where it is:
``cart.yaml:12: nodes[2].next: no node 'emial'``. They are raised together as
:class:`InvalidJourney` (an :class:`~juncture.errors.InvalidDefinition`) whose ``where`` is the
first problem's ``file:line`` and whose ``problems`` lists them all. The format is described by
``juncture/definitions/journeys.schema.json``; the ready journeys are in
``juncture/library/journeys``.
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import re
from collections.abc import Callable, Collection, Mapping
from pathlib import Path
from typing import Any, Final

from juncture import library as shipped
from juncture.core.journeys import expr
from juncture.core.journeys import spec as s
from juncture.definitions import content
from juncture.definitions.reader import PathT, Problem, Reader, line_of
from juncture.errors import InvalidDefinition

LIBRARY: Final = shipped.JOURNEYS
SCHEMA: Final = Path(__file__).parent / "journeys.schema.json"

_TOP: Final = frozenset(
    {"id", "version", "name", "priority", "entry", "goal", "exit_when", "holdout", "nodes"}
    | {"send_window"}
)
_MATCH: Final = frozenset({"event", "properties", "where"})
ALWAYS: Final = expr.Literal(True)  # the ``when`` of a branch that gives only ``recommended``
_ID: Final = re.compile(r"^[A-Za-z0-9_.-]+$")
_PLACEMENT: Final = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")  # as POST /v1/decide accepts


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
    reader = _JourneyReader(filename, templates)
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


class _JourneyReader(Reader):
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
        self.known(raw, path, _MATCH | extra)
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
        if kind not in _BUILDERS:
            known = ", ".join(sorted(_BUILDERS))
            self.problem((*path, "type"), f"unknown node type {kind!r} (one of {known})")
            return None, None
        fields, build = _BUILDERS[kind]
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
def _trigger(r: _JourneyReader, raw: Mapping[str, Any], path: PathT, node_id: str) -> Any:
    kind: Any = r.one_of(raw, path, ("event", "segment_entered", "segment_exited", "date"))
    target = r.next(raw, path)
    match: s.EventMatch | None = None
    if kind == "event":
        match = r.match({k: raw[k] for k in _MATCH if k in raw}, path)
    elif kind is not None:
        value = r.text(raw, path, kind)
        derived = {"segment_entered": s.SEGMENT_ENTERED, "segment_exited": s.SEGMENT_EXITED}
        prop = "trait" if kind == "date" else "segment_id"
        name = derived.get(kind, s.ANNIVERSARY_REACHED if "every" in raw else s.DATE_REACHED)
        match = None if value is None else s.EventMatch(name, ((prop, value),))
    every: Any = None
    if "every" in raw:
        every = r.choice(raw, path, "every", s.EVERY)
        if kind != "date":
            r.problem((*path, "every"), "every repeats a date trigger: use it with date")
    if kind is None or match is None or target is None or ("every" in raw and every is None):
        return None
    return s.Trigger(node_id, match, target, kind, every)


def _wait(r: _JourneyReader, raw: Mapping[str, Any], path: PathT, node_id: str) -> Any:
    kind = r.one_of(raw, path, ("duration", "until_event", "until_time"))
    if kind == "until_event":
        return _wait_event(r, raw, path, node_id)
    target = r.next(raw, path)
    if kind == "duration":
        duration = r.duration(raw, path, "duration")
        return None if duration is None or target is None else s.WaitFor(node_id, duration, target)
    if kind is None:
        return None
    at = _time_of_day(r, raw, path)
    zone = r.text(raw, path, "default_timezone", need=False) or "UTC"
    if not _zone_exists(zone):
        r.problem((*path, "default_timezone"), f"unknown time zone {zone!r}")
    return None if at is None or target is None else s.WaitUntilTime(node_id, at, target, zone)


def _wait_event(r: _JourneyReader, raw: Mapping[str, Any], path: PathT, node_id: str) -> Any:
    awaited = raw["until_event"]
    if isinstance(awaited, str):
        awaited = {"event": awaited, **{k: raw[k] for k in ("properties", "where") if k in raw}}
    match = r.match(awaited, (*path, "until_event"))
    timeout = r.duration(raw, path, "timeout")
    on_event, on_timeout = r.next(raw, path, "on_event"), r.next(raw, path, "on_timeout")
    key = r.dotted(raw, path, "key")
    reset = None if raw.get("reset") is None else r.match(raw["reset"], (*path, "reset"))
    if match is None or timeout is None or on_event is None or on_timeout is None:
        return None
    settles = r.settles(raw, path, match)
    return s.WaitUntilEvent(node_id, match, timeout, on_event, on_timeout, key, reset, settles)


def _time_of_day(r: _JourneyReader, raw: Mapping[str, Any], path: PathT) -> dt.time | None:
    value = raw["until_time"]
    try:
        return dt.time.fromisoformat(str(value))
    except ValueError:
        r.problem((*path, "until_time"), f"until_time {value!r} is not a time such as '09:30'")
        return None


def _zone_exists(name: str) -> bool:
    import zoneinfo  # noqa: PLC0415

    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _condition(r: _JourneyReader, raw: Mapping[str, Any], path: PathT, node_id: str) -> Any:
    items = r.get(raw, path, "branches", list, True) or []
    branches: list[s.Branch] = []
    for index, item in enumerate(items):
        here = (*path, "branches", index)
        if not isinstance(item, Mapping):
            r.problem(here, "a branch is a mapping with when (or recommended) and next")
            continue
        branch = _branch(r, item, here)
        if branch is not None:
            branches.append(branch)
    otherwise = r.next(raw, path, "else")
    if not items or len(branches) != len(items) or otherwise is None:
        return None
    return s.Condition(node_id, tuple(branches), otherwise)


def _branch(r: _JourneyReader, item: Mapping[str, Any], here: PathT) -> s.Branch | None:
    """A condition's branch: ``when`` (an expression), ``recommended`` (``{kind,
    at_least}``: that much to recommend to the shopper) or both, and ``next``."""
    r.known(item, here, frozenset({"when", "recommended", "next"}))
    if "when" not in item and "recommended" not in item:
        r.problem(here, "a branch needs when, recommended or both")
        return None
    when = r.expression(item["when"], (*here, "when")) if "when" in item else ALWAYS
    recommended = _recommended(r, item, here)
    target = r.next(item, here)
    if when is None or target is None or recommended is False:
        return None
    needs = recommended if isinstance(recommended, s.Recommended) else None
    source = str(item.get("when") or "")
    if needs is not None:
        wants = f"{needs.at_least}+ {needs.kind}"
        source = f"{source} and {wants}" if source else wants
    return s.Branch(when, target, source, needs)


def _split(r: _JourneyReader, raw: Mapping[str, Any], path: PathT, node_id: str) -> Any:
    items = r.get(raw, path, "branches", list, True) or []
    branches: list[s.SplitBranch] = []
    for index, item in enumerate(items):
        here = (*path, "branches", index)
        if not isinstance(item, Mapping):
            r.problem(here, "a branch is a mapping with name, weight and next")
            continue
        r.known(item, here, frozenset({"name", "weight", "next"}))
        name, weight = r.text(item, here, "name"), r.get(item, here, "weight", float, True)
        target = r.next(item, here)
        if weight is not None and weight <= 0:
            r.problem((*here, "weight"), "a weight is a number above zero")
        elif name is not None and weight is not None and target is not None:
            branches.append(s.SplitBranch(name, weight, target))
    if len({b.name for b in branches}) != len(branches):
        r.problem((*path, "branches"), "split branch names must differ")
    if len(items) < 2:
        r.problem((*path, "branches"), "a split needs at least two branches")
    return s.Split(node_id, tuple(branches)) if len(branches) == len(items) > 1 else None


def _send(r: _JourneyReader, raw: Mapping[str, Any], path: PathT, node_id: str) -> Any:
    channel = r.choice(raw, path, "channel", s.CHANNELS)
    purpose: Any = (
        "marketing" if "purpose" not in raw else r.choice(raw, path, "purpose", s.PURPOSES)
    )
    body = r.one_of(raw, path, ("template", "inline"))
    template = r.template(raw, path) if body == "template" else None
    inline = r.get(raw, path, "inline", dict, True) if body == "inline" else None
    target = r.next(raw, path)
    onsite = _onsite(r, raw, path, channel)
    data = content.read(r, raw, path)
    if onsite is None or None in (channel, purpose, target) or (template, inline) == (None, None):
        return None
    kind, placement, expires = onsite
    recommended = _recommended(r, raw, path)
    if data is None or recommended is False:
        return None
    return s.SendMessage(
        node_id, channel, purpose, target, template, inline, kind, placement, data, expires,
        recommended if isinstance(recommended, s.Recommended) else None,
    )  # fmt: skip


def _recommended(
    r: _JourneyReader, raw: Mapping[str, Any], path: PathT
) -> s.Recommended | bool | None:
    """``recommended: {kind, at_least}`` of a send or a condition's branch (None when
    absent; False after a problem)."""
    given = r.get(raw, path, "recommended", dict, False)
    if given is None:
        return None if "recommended" not in raw else False
    where = (*path, "recommended")
    for key in sorted(set(given) - {"kind", "at_least"}):
        r.problem((*where, key), f"unknown key {key!r} (kind, at_least)")
    kind = r.choice(given, where, "kind", s.RECOMMENDATION_KINDS)
    at_least = given.get("at_least", 1)
    if isinstance(at_least, bool) or not isinstance(at_least, int) or not 1 <= at_least <= 10:
        r.problem((*where, "at_least"), "at_least: a whole number from 1 to 10")
        return False
    return (
        False
        if kind is None or set(given) - {"kind", "at_least"}
        else s.Recommended(kind, at_least)
    )


def _onsite(
    r: _JourneyReader, raw: Mapping[str, Any], path: PathT, channel: str | None
) -> tuple[str | None, str | None, dt.timedelta | None] | None:
    """(kind, placement, expires) of an on-site send, all None for other channels; None
    after a problem."""
    if channel != "onsite":
        keys = ("kind", "placement", "expires")
        extra = [key for key in keys if key in raw and channel is not None]
        for key in extra:
            r.problem((*path, key), f"{key} is for on-site placements (channel: onsite)")
        return None if extra else (None, None, None)
    if "kind" not in raw:
        r.problem(path, f"an on-site send needs 'kind', one of {', '.join(s.PLACEMENT_KINDS)}")
        return None
    kind = r.choice(raw, path, "kind", s.PLACEMENT_KINDS)
    placement = r.text(raw, path, "placement", need=False)
    if placement is not None and not _PLACEMENT.match(placement):
        r.problem((*path, "placement"), f"placement {placement!r}: letters, digits, _.:- only")
        return None
    expires = r.duration(raw, path, "expires") if "expires" in raw else None
    if kind is None or ("expires" in raw and expires is None):
        return None
    return kind, placement, expires


def _set_trait(r: _JourneyReader, raw: Mapping[str, Any], path: PathT, node_id: str) -> Any:
    trait, target = r.text(raw, path, "trait"), r.next(raw, path)
    if "value" not in raw:
        r.problem(path, "missing 'value'")
    if trait is None or target is None or "value" not in raw:
        return None
    return s.SetTrait(node_id, trait, raw["value"], target)


def _emit_event(r: _JourneyReader, raw: Mapping[str, Any], path: PathT, node_id: str) -> Any:
    event, target = r.text(raw, path, "event"), r.next(raw, path)
    props = r.get(raw, path, "properties", dict, False) or {}
    return None if event is None or target is None else s.EmitEvent(node_id, event, target, props)


def _webhook(r: _JourneyReader, raw: Mapping[str, Any], path: PathT, node_id: str) -> Any:
    url, target = r.text(raw, path, "url"), r.next(raw, path)
    if url is not None and not url.startswith(("https://", "http://")):
        r.problem((*path, "url"), f"url {url!r} must start with https:// or http://")
    method = r.choice(raw, path, "method", _METHODS) if "method" in raw else "POST"
    body = r.get(raw, path, "body", dict, False) or {}
    if None in (url, target, method):
        return None
    return s.CallWebhook(node_id, url, target, method, body)


def _exit(_r: _JourneyReader, _raw: Mapping[str, Any], _path: PathT, node_id: str) -> Any:
    return s.Exit(node_id)


_METHODS: Final = ("POST", "PUT", "PATCH", "GET", "DELETE")
_Build = Callable[[_JourneyReader, Mapping[str, Any], PathT, str], Any]
_BUILDERS: Final[Mapping[str, tuple[frozenset[str], _Build]]] = {
    "trigger": (
        frozenset(
            {
                *("next", "event", "properties", "where"),
                *("segment_entered", "segment_exited", "date", "every"),
            }
        ),
        _trigger,
    ),
    "wait": (
        frozenset(
            {
                "next",
                "duration",
                "until_event",
                "properties",
                "where",
                "timeout",
                "on_event",
                "on_timeout",
                "key",
                "reset",
                "settles",
                "until_time",
                "default_timezone",
            }
        ),
        _wait,
    ),
    "condition": (frozenset({"branches", "else"}), _condition),
    "split": (frozenset({"branches"}), _split),
    "send": (
        frozenset({"channel", "purpose", "template", "inline", "kind", "placement", "next"})
        | {"data", "expires", "recommended"},
        _send,
    ),
    "set_trait": (frozenset({"trait", "value", "next"}), _set_trait),
    "emit_event": (frozenset({"event", "properties", "next"}), _emit_event),
    "webhook": (frozenset({"url", "method", "body", "next"}), _webhook),
    "exit": (frozenset(), _exit),
}
