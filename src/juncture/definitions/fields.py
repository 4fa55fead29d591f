"""Typed reads of one row of a feed (:mod:`juncture.definitions.feeds`): text with a length
limit, repeated attributes, choices, numbers, prices, times and intervals. Each bad value
becomes a :class:`~juncture.definitions.feeds.Problem` and reads as None, instead of
raising, so that a row is refused with every problem it has."""

from __future__ import annotations

import csv
import datetime as dt
import functools
import math
import re
from collections.abc import Mapping, Sequence
from typing import Any, Final

from juncture.core import bounds
from juncture.definitions.feeds import Problem

_MONEY: Final = re.compile(r"^(?:(\d+(?:\.\d+)?)\s*([A-Za-z]{3})|([A-Za-z]{3})\s*(\d+(?:\.\d+)?))$")
_SCALARS: Final = (str, int, float)  # what a repeated attribute's values may be


class Fields:
    """Typed reads of one row; each bad value becomes a :class:`Problem` in ``problems``
    and reads as None. ``used`` collects the attributes read, so that the rest can be kept
    as the row's other attributes."""

    __slots__ = ("line", "problems", "row", "used")

    def __init__(self, line: int, row: Mapping[str, Any]) -> None:
        self.line = line
        self.row = row
        self.problems: list[Problem] = []
        self.used: set[str] = set()

    def problem(self, column: str, message: str) -> None:
        self.problems.append(Problem(self.line, column, message))

    def raw(self, name: str) -> Any:
        self.used.add(name)
        return self.row.get(name)

    def text(self, name: str, *, required: bool = False, limit: int = 100_000) -> str | None:
        self.used.add(name)
        value = self.row.get(name)
        if value.__class__ is str:  # every value of a text feed: checked without more calls
            text = value.strip()
            if text and len(text) <= limit and "\x00" not in text:
                return text
        elif value is None and not required:
            return None
        return self._text(name, value, required, limit)

    def _text(self, name: str, value: Any, required: bool, limit: int) -> str | None:
        if isinstance(value, list):
            value = value[0] if value else None
        if isinstance(value, bool) or not (value is None or isinstance(value, _SCALARS)):
            self.problem(name, "must be text")
            return None
        text = None if value is None else str(value).strip()
        if not text:
            if required:
                self.problem(name, "is required")
            return None
        if "\x00" in text:
            self.problem(name, "NUL (\\x00) is not allowed")
            return None
        if len(text) > limit:
            self.problem(name, f"is {len(text)} characters; at most {limit}")
            return None
        return text

    def plain(self, limits: Mapping[str, int]) -> dict[str, str | None]:
        """:meth:`text` of each optional attribute of ``limits`` (name to length limit), in
        one call: a product row has a dozen of them."""
        self.used.update(limits)
        found: dict[str, str | None] = dict.fromkeys(limits)
        row = self.row
        for name, limit in limits.items():
            value = row.get(name)
            if value is None:
                continue
            if value.__class__ is str:
                text = value.strip()
                if text and len(text) <= limit and "\x00" not in text:
                    found[name] = text
                    continue
            found[name] = self._text(name, value, False, limit)
        return found

    def ident(self, name: str, *, required: bool = True) -> str | None:
        return self.text(name, required=required, limit=bounds.MAX_ID)

    def texts(self, name: str) -> list[str]:
        """A repeated attribute: a list (XML, JSON) or comma-separated text."""
        self.used.add(name)
        value = self.row.get(name)
        if value is None:
            return []
        if value.__class__ is str:
            if '"' not in value:  # no quoting: the csv module would split at each comma
                if "," not in value:  # one value (most rows): no list to split
                    text = value.strip()
                    return [text] if text and "\x00" not in text else []
                return [v for v in map(str.strip, value.split(",")) if v and "\x00" not in v]
            value = next(csv.reader([value], skipinitialspace=True), [])
        if not isinstance(value, list):
            value = [value]
        found = [str(v).strip() for v in value if isinstance(v, _SCALARS)]
        return [v for v in found if v and "\x00" not in v]

    def choice(self, name: str, allowed: Sequence[str], default: str | None = None) -> str | None:
        """One of ``allowed``; ``in stock`` and ``In_Stock`` both read as ``in_stock``."""
        text = self.text(name)
        if text is None:
            return default
        found = _choose(text, tuple(allowed))
        if found is None:
            self.problem(name, f"{text!r} is not one of {', '.join(allowed)}")
            return default
        return found

    def integer(self, name: str, *, minimum: int = 0) -> int | None:
        value = self.raw(name)
        if value is None or value == "":
            return None
        try:
            number = int(str(value).strip())
        except ValueError:
            self.problem(name, f"{value!r} is not a whole number")
            return None
        if not minimum <= number <= bounds.MAX_INT:
            self.problem(name, f"{number} is out of range: {minimum} or more")
            return None
        return number

    def number(self, name: str, low: float, high: float) -> float | None:
        value = self.raw(name)
        if value is None or value == "":
            return None
        try:
            number = float(str(value).strip())
        except ValueError:
            number = math.nan
        if not low <= number <= high:
            self.problem(name, f"{value!r} is not a number from {low:g} to {high:g}")
            return None
        return number

    def price(self, name: str) -> tuple[float, str] | None:
        """``15.00 USD`` (or ``USD 15.00``, or ``{"value", "currency"}`` in JSON)."""
        value = self.raw(name)
        if value is None or value == "":
            return None
        if isinstance(value, dict):
            value = f"{value.get('value', '')} {value.get('currency', '')}"
        found = _money(value) if value.__class__ is str else _money(str(value))
        if found is None:
            self.problem(name, f"{value!r} is not a price such as '15.00 USD'")
            return None
        if found[0] > bounds.MAX_FLOAT:
            self.problem(name, f"{found[0]:g} is out of range")
            return None
        return found

    def time(self, name: str) -> dt.datetime | None:
        text = self.text(name)
        return None if text is None else self._moment(name, text)

    def interval(self, name: str) -> tuple[dt.datetime | None, dt.datetime | None]:
        """An ISO 8601 interval, ``start/end`` (``sale_price_effective_date``)."""
        text = self.text(name)
        if text is None:
            return None, None
        start, slash, end = text.partition("/")
        if not slash:
            self.problem(
                name, f"{text!r} is not an interval such as '2026-11-01T00:00Z/2026-11-08T00:00Z'"
            )
            return None, None
        first, last = self._moment(name, start), self._moment(name, end)
        if first is not None and last is not None and last <= first:
            self.problem(name, f"{text!r} ends before it starts")
            return None, None
        return first, last

    def _moment(self, name: str, text: str) -> dt.datetime | None:
        try:
            value = dt.datetime.fromisoformat(text.strip())
        except ValueError:
            self.problem(name, f"{text!r} is not an ISO 8601 time such as 2026-11-01T09:00+0100")
            return None
        value = value if value.tzinfo else value.replace(tzinfo=dt.UTC)
        if not bounds.within_time(value):
            self.problem(name, f"{text!r} is out of range: {bounds.time_range()}")
            return None
        return value.astimezone(dt.UTC)

    def rest(self, skip: frozenset[str] = frozenset()) -> dict[str, str]:
        """The attributes not read, as text (a repeated one joined with commas)."""
        found = {}
        for name, value in self.row.items():
            if name in self.used or name in skip:
                continue
            if value.__class__ is str:  # every value of a text feed
                text = value
            else:
                values = value if isinstance(value, list) else [value]
                text = ",".join(str(v) for v in values if isinstance(v, _SCALARS))
            if text and "\x00" not in text:
                found[name] = text
        return found


@functools.lru_cache(maxsize=4096)
def _money(text: str) -> tuple[float, str] | None:
    """``15.00 USD`` or ``USD 15.00`` as (amount, currency); None if it is neither. Kept for
    the texts seen last: a feed's prices repeat."""
    found = _MONEY.match(text.strip())
    if found is None:
        return None
    return float(found.group(1) or found.group(4)), (found.group(2) or found.group(3)).upper()


@functools.lru_cache(maxsize=1024)
def _choose(text: str, allowed: tuple[str, ...]) -> str | None:
    """The option of ``allowed`` that ``text`` names (any case, spaces or hyphens for
    underscores), or None. Kept for the texts seen last: a feed repeats a few."""
    found = text.lower().replace(" ", "_")
    spaced = found.replace("_", "-")
    for option in allowed:
        if option in (found, spaced):
            return option
    return None
