"""The declared types of an imported CSV's columns: a CSV holds only text, so a column that
is a number (``age``), a flag (``vip``), a time or a list (``interests``) says so here, and
each value is converted before it becomes a trait, or its row is refused with the column.

A schema file, YAML or JSON::

    columns:
      age: number          # 34 -> 34 (an int when whole), "thirty" refused
      vip: boolean         # true/false, yes/no, 1/0, y/n (any case)
      signed_up: time      # ISO 8601 or epoch, stored as ISO 8601 UTC
      interests: list      # "yoga; hiking" -> ["yoga", "hiking"]
      postcode: string     # the default: kept as text ("01067" keeps its zero)

or the same as ``--type age=number`` on the command line. An empty cell is no trait.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Final

from juncture.core import messages
from juncture.definitions.reader import Reader
from juncture.errors import InvalidDefinition

_TRUE: Final = frozenset({"true", "yes", "y", "1"})
_FALSE: Final = frozenset({"false", "no", "n", "0"})
LIST_SEPARATOR: Final = ";"


def _number(text: str) -> int | float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("not a finite number")
    return int(value) if value.is_integer() and "." not in text and "e" not in text else value


def _boolean(text: str) -> bool:
    lowered = text.lower()
    if lowered in _TRUE or lowered in _FALSE:
        return lowered in _TRUE
    raise ValueError("not true/false, yes/no, y/n or 1/0")


def _time(text: str) -> str:
    return messages.parse_time(text).isoformat().replace("+00:00", "Z")


def _list(text: str) -> list[str]:
    return [part.strip() for part in text.split(LIST_SEPARATOR) if part.strip()]


CONVERTERS: Final[Mapping[str, Callable[[str], Any]]] = {
    "string": str,
    "number": _number,
    "boolean": _boolean,
    "time": _time,
    "list": _list,
}
_NAMES: Final = {"number": "a number", "boolean": "a yes/no value", "time": "a time"}


def convert(kind: str, text: str) -> Any:
    """The cell's value as ``kind``; raises ValueError saying what was expected.

    >>> convert("number", " 34 "), convert("boolean", "Yes"), convert("list", "yoga; hiking")
    (34, True, ['yoga', 'hiking'])
    """
    try:
        return CONVERTERS[kind](text.strip())
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"{text!r} is not {_NAMES.get(kind, kind)}") from exc


def load(path: Path) -> dict[str, str]:
    """The column types of a schema file; raises :class:`InvalidDefinition` with
    ``file:line`` for each problem."""
    reader = Reader(str(path))
    data = reader.parse(path.read_text(encoding="utf-8"))
    found: dict[str, str] = {}
    if reader.problems:
        raise InvalidDefinition("\n".join(map(str, reader.problems)))
    if not isinstance(data, Mapping) or not isinstance(data.get("columns"), Mapping):
        raise InvalidDefinition(
            f"{path.name}: a schema is a mapping with 'columns: {{name: type}}'"
        )
    reader.known(data, (), frozenset({"columns"}))
    for name, kind in data["columns"].items():
        if kind not in CONVERTERS:
            reader.problem(("columns", str(name)), _unknown(kind))
        found[str(name).strip().lower()] = str(kind)
    if reader.problems:
        raise InvalidDefinition("\n".join(map(str, reader.problems)))
    return found


def parse_pairs(pairs: Iterable[str]) -> dict[str, str]:
    """``["age=number", "vip=boolean"]`` as column types (``--type`` options)."""
    found: dict[str, str] = {}
    for pair in pairs:
        name, _, kind = pair.partition("=")
        if not name.strip() or kind.strip() not in CONVERTERS:
            raise InvalidDefinition(f"--type {pair}: write column=type; {_unknown(kind.strip())}")
        found[name.strip().lower()] = kind.strip()
    return found


def _unknown(kind: object) -> str:
    return f"unknown type {kind!r} (one of {', '.join(CONVERTERS)})"
