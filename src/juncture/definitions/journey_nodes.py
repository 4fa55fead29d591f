"""The nodes of the journey grammar: one reader per node type (``trigger``, ``wait``,
``condition``, ``split``, ``send``, ``set_trait``, ``emit_event``, ``webhook``, ``exit``) and
the fields each takes (:data:`BUILDERS`), over the reader of
:mod:`juncture.definitions.journeys`."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Final, TypeVar

from juncture.core.journeys import expr
from juncture.core.journeys import spec as s
from juncture.definitions import content
from juncture.definitions.reader import PathT

if TYPE_CHECKING:
    from juncture.definitions.journeys import JourneyReader

MATCH: Final = frozenset({"event", "properties", "where"})  # the fields of an event match
ALWAYS: Final = expr.Literal(True)  # the ``when`` of a branch that gives only ``recommended``
_B = TypeVar("_B")  # a branch as a node holds it
_PLACEMENT: Final = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")  # as POST /v1/decide accepts


def _trigger(r: JourneyReader, raw: Mapping[str, Any], path: PathT, node_id: str) -> Any:
    kind: Any = r.one_of(raw, path, ("event", "segment_entered", "segment_exited", "date"))
    target = r.next(raw, path)
    match: s.EventMatch | None = None
    if kind == "event":
        match = r.match({k: raw[k] for k in MATCH if k in raw}, path)
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


def _wait(r: JourneyReader, raw: Mapping[str, Any], path: PathT, node_id: str) -> Any:
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


def _wait_event(r: JourneyReader, raw: Mapping[str, Any], path: PathT, node_id: str) -> Any:
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


def _time_of_day(r: JourneyReader, raw: Mapping[str, Any], path: PathT) -> dt.time | None:
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


def _branches(
    r: JourneyReader,
    raw: Mapping[str, Any],
    path: PathT,
    fields: str,
    read: Callable[[JourneyReader, Mapping[str, Any], PathT], _B | None],
) -> tuple[int, list[_B]]:
    """The ``branches`` of a condition or split, each read by ``read`` (``fields``: what a
    branch holds, for the problem when one is not a mapping): how many were given, and
    those that read well."""
    items = r.get(raw, path, "branches", list, True) or []
    branches: list[_B] = []
    for index, item in enumerate(items):
        here = (*path, "branches", index)
        if not isinstance(item, Mapping):
            r.problem(here, f"a branch is a mapping with {fields}")
            continue
        branch = read(r, item, here)
        if branch is not None:
            branches.append(branch)
    return len(items), branches


def _condition(r: JourneyReader, raw: Mapping[str, Any], path: PathT, node_id: str) -> Any:
    given, branches = _branches(r, raw, path, "when (or recommended) and next", _branch)
    otherwise = r.next(raw, path, "else")
    if not given or len(branches) != given or otherwise is None:
        return None
    return s.Condition(node_id, tuple(branches), otherwise)


def _branch(r: JourneyReader, item: Mapping[str, Any], here: PathT) -> s.Branch | None:
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


def _split(r: JourneyReader, raw: Mapping[str, Any], path: PathT, node_id: str) -> Any:
    given, branches = _branches(r, raw, path, "name, weight and next", _split_branch)
    if len({b.name for b in branches}) != len(branches):
        r.problem((*path, "branches"), "split branch names must differ")
    if given < 2:
        r.problem((*path, "branches"), "a split needs at least two branches")
    return s.Split(node_id, tuple(branches)) if len(branches) == given > 1 else None


def _split_branch(r: JourneyReader, item: Mapping[str, Any], here: PathT) -> s.SplitBranch | None:
    """A split's branch: its ``name``, ``weight`` (above zero) and ``next``."""
    r.known(item, here, frozenset({"name", "weight", "next"}))
    name, weight = r.text(item, here, "name"), r.get(item, here, "weight", float, True)
    target = r.next(item, here)
    if weight is not None and weight <= 0:
        r.problem((*here, "weight"), "a weight is a number above zero")
    elif name is not None and weight is not None and target is not None:
        return s.SplitBranch(name, weight, target)
    return None


def _send(r: JourneyReader, raw: Mapping[str, Any], path: PathT, node_id: str) -> Any:
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
    r: JourneyReader, raw: Mapping[str, Any], path: PathT
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
    r: JourneyReader, raw: Mapping[str, Any], path: PathT, channel: str | None
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


def _set_trait(r: JourneyReader, raw: Mapping[str, Any], path: PathT, node_id: str) -> Any:
    trait, target = r.text(raw, path, "trait"), r.next(raw, path)
    if "value" not in raw:
        r.problem(path, "missing 'value'")
    if trait is None or target is None or "value" not in raw:
        return None
    return s.SetTrait(node_id, trait, raw["value"], target)


def _emit_event(r: JourneyReader, raw: Mapping[str, Any], path: PathT, node_id: str) -> Any:
    event, target = r.text(raw, path, "event"), r.next(raw, path)
    props = r.get(raw, path, "properties", dict, False) or {}
    return None if event is None or target is None else s.EmitEvent(node_id, event, target, props)


def _webhook(r: JourneyReader, raw: Mapping[str, Any], path: PathT, node_id: str) -> Any:
    url, target = r.text(raw, path, "url"), r.next(raw, path)
    if url is not None and not url.startswith(("https://", "http://")):
        r.problem((*path, "url"), f"url {url!r} must start with https:// or http://")
    method = r.choice(raw, path, "method", _METHODS) if "method" in raw else "POST"
    body = r.get(raw, path, "body", dict, False) or {}
    if None in (url, target, method):
        return None
    return s.CallWebhook(node_id, url, target, method, body)


def _exit(_r: JourneyReader, _raw: Mapping[str, Any], _path: PathT, node_id: str) -> Any:
    return s.Exit(node_id)


_METHODS: Final = ("POST", "PUT", "PATCH", "GET", "DELETE")
_Build = Callable[["JourneyReader", Mapping[str, Any], PathT, str], Any]
BUILDERS: Final[Mapping[str, tuple[frozenset[str], _Build]]] = {
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
