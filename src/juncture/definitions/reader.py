"""The reader every definition grammar shares: YAML or JSON text -> plain data with the line
of each path, typed getters that record a problem (``file:line: path: message``) instead of
raising, and durations (``3d``, ``PT2H``) within :mod:`juncture.core.bounds`."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

import yaml

from juncture.core import bounds

_SHORT: Final = re.compile(r"^(?:(\d+)w)?(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$")
_ISO: Final = re.compile(r"^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+)S)?)?$")

PathT = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong: ``where`` is ``file:line`` (or the file), ``path`` the JSON path."""

    where: str
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.path + ': ' if self.path else ''}{self.message}"


def parse_duration(text: object) -> dt.timedelta:
    """``"90m"``, ``"3d"``, ``"1h30m"``, ``"2w"`` or ISO 8601 ``"PT2H"``, ``"P1DT12H"``."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError("a duration is a string such as '3d', '90m', '1h30m' or 'PT2H'")
    short, iso = _SHORT.match(text.strip()), _ISO.match(text.strip().upper())
    found = short or iso
    if found is None or not any(found.groups()):
        raise ValueError(f"bad duration {text!r}: use e.g. '3d', '90m', '1h30m' or 'PT2H'")
    weeks, days, hours, minutes, seconds = (int(g or 0) for g in found.groups())
    try:
        value = dt.timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes, seconds=seconds)
    except OverflowError:
        value = bounds.MAX_DURATION * 2
    if value <= dt.timedelta(0):
        raise ValueError(f"bad duration {text!r}: it must be longer than zero")
    if value > bounds.MAX_DURATION:
        raise ValueError(
            f"bad duration {text!r}: the longest is {bounds.MAX_DURATION.days}d (a hundred years)"
        )
    return value


def line_of(problem: Problem) -> int:
    _, _, line = problem.where.rpartition(":")
    return int(line) if line.isdigit() else 0


def fmt(path: PathT) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


class Reader:
    """Reads a YAML or JSON definition into plain data, remembering the line of each path,
    and records problems with their ``file:line``; a grammar subclasses it with builders."""

    def __init__(self, filename: str):
        self.filename = filename
        self.lines: dict[PathT, int] = {}
        self.problems: list[Problem] = []

    # -- text to data, with a line for each path ---------------------------------------------
    def parse(self, text: str) -> Any:
        try:
            data = self._load(text)
        except (yaml.MarkedYAMLError, json.JSONDecodeError) as exc:
            self.problems.append(Problem(self._error_where(exc), "", _syntax(exc)))
            return None
        except yaml.reader.ReaderError as exc:  # a character YAML does not allow
            where = f"{self.filename}:{text.count(chr(10), 0, exc.position) + 1}"
            code = exc.character if isinstance(exc.character, int) else ord(exc.character[:1])
            message = f"not valid YAML: the character U+{code:04X} is not allowed"
            self.problems.append(Problem(where, "", message))
            return None
        except RecursionError:
            self.problems.append(Problem(self.filename, "", "nested too deeply to read"))
            return None
        try:
            root = yaml.compose(text, Loader=yaml.SafeLoader)
        except (yaml.YAMLError, RecursionError):
            root = None  # JSON that YAML cannot read: problems then name the JSON path only
        if root is not None:
            self._index(root, ())
        return data

    def _load(self, text: str) -> Any:
        if self.filename.endswith(".json"):
            return json.loads(text)
        return yaml.safe_load(text)

    def _error_where(self, exc: yaml.MarkedYAMLError | json.JSONDecodeError) -> str:
        if isinstance(exc, json.JSONDecodeError):
            return f"{self.filename}:{exc.lineno}"
        mark = exc.problem_mark or exc.context_mark
        return f"{self.filename}:{mark.line + 1}" if mark else self.filename

    def _index(self, node: yaml.Node, path: PathT) -> None:
        self.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            seen: set[str] = set()
            for key_node, value_node in node.value:
                key = str(key_node.value)
                if key in seen:
                    self.lines[(*path, key)] = key_node.start_mark.line + 1
                    self.problem((*path, key), "duplicate key")
                seen.add(key)
                self._index(value_node, (*path, key))
                self.lines[(*path, key)] = key_node.start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode):
            for index, item in enumerate(node.value):
                self._index(item, (*path, index))

    # -- problems ------------------------------------------------------------------------------
    def problem(self, path: PathT, message: str) -> None:
        probe = path
        while probe and probe not in self.lines:
            probe = probe[:-1]
        line = self.lines.get(probe)
        where = f"{self.filename}:{line}" if line else self.filename
        self.problems.append(Problem(where, fmt(path), message))

    def known(self, data: Mapping[str, Any], path: PathT, allowed: frozenset[str]) -> None:
        for key in data:
            if key not in allowed:
                self.problem((*path, str(key)), f"unknown field {key!r}")

    # -- typed getters: return None (after recording a problem) when wrong --------------------
    def get(self, data: Mapping[str, Any], path: PathT, key: str, kind: type, need: bool) -> Any:
        if key not in data or data[key] is None:
            if need:
                self.problem(path, f"missing {key!r}")
            return None
        value = data[key]
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            self.problem((*path, key), f"{key!r} must be {_KINDS[kind]}, not {value!r}")
            return None
        return value

    def text(self, data: Mapping[str, Any], path: PathT, key: str, need: bool = True) -> Any:
        return self.get(data, path, key, str, need)

    def duration(self, data: Mapping[str, Any], path: PathT, key: str) -> dt.timedelta | None:
        if key not in data:
            self.problem(path, f"missing {key!r}")
            return None
        try:
            return parse_duration(data[key])
        except ValueError as exc:
            self.problem((*path, key), str(exc))
            return None


_KINDS: Final[Mapping[type, str]] = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
    dict: "a mapping",
    list: "a list",
}


def _syntax(exc: yaml.MarkedYAMLError | json.JSONDecodeError) -> str:
    if isinstance(exc, json.JSONDecodeError):
        return f"not valid JSON: {exc.msg} (column {exc.colno})"
    return f"not valid YAML: {exc.problem or exc}"
