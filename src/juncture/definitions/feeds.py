"""Rows of a retailer's feed, in the formats Google Merchant Center reads: tab-separated or
comma-separated text with a header of attribute names, the RSS 2.0 or Atom XML feed with
the ``g:`` namespace, and JSON lines. :func:`rows` yields each row with the line it starts
on (a dict of attribute name to value: text, a list for a repeated attribute, a dict for
one with sub-attributes such as XML's ``g:product_detail``), or a :class:`Problem` where a
row cannot be read; :class:`Fields` reads typed values out of a row and records a problem
for each bad one instead of raising.

Attribute names are matched as Merchant Center matches them: case-insensitively, with
spaces as underscores and without a ``g:`` prefix (``Image Link`` is ``image_link``).

XML goes through defusedxml (no entity expansion, no external entities). Reading is
streaming: a feed of a million items never sits in memory whole.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import IO, Any, Final
from xml.sax import SAXParseException
from xml.sax.handler import ContentHandler, feature_namespaces
from xml.sax.xmlreader import AttributesNSImpl, Locator

import orjson
from defusedxml import expatreader

from juncture.core import bounds
from juncture.errors import BadInput

FORMATS: Final = ("tsv", "csv", "xml", "jsonl")
_SUFFIXES: Final = {
    ".tsv": "tsv", ".txt": "tsv", ".csv": "csv", ".xml": "xml", ".rss": "xml",
    ".atom": "xml", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
}  # fmt: skip
_CHUNK: Final = 1 << 16
_ITEMS: Final = frozenset({"item", "entry"})
_MONEY: Final = re.compile(r"^(?:(\d+(?:\.\d+)?)\s*([A-Za-z]{3})|([A-Za-z]{3})\s*(\d+(?:\.\d+)?))$")
_CSV_LIMIT: Final = 1 << 20  # characters in one field (a long description is well below)

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Problem:
    """A row, or a value of it, that cannot be taken: its line, the attribute (empty when
    the whole row is at fault) and why."""

    line: int
    column: str
    message: str

    def where(self, name: str) -> str:
        """``file:line: column: message``, as the CLI prints it."""
        column = f"{self.column}: " if self.column else ""
        return f"{name}:{self.line}: {column}{self.message}"


def invalid(message: str, name: str, line: int = 1) -> BadInput:
    """The error for a feed that cannot be read at all (no header, not a format we read)."""
    return BadInput(message, code="invalid_feed", where=f"{name}:{line}")


def key(name: str) -> str:
    """An attribute name as Merchant Center matches it: ``G:Image Link`` -> ``image_link``."""
    found = name.strip().lower().replace(" ", "_").replace("-", "_")
    return found.removeprefix("g:")


def guess(name: str, head: bytes) -> str:
    """The format of a feed named ``name`` whose first bytes are ``head``."""
    for suffix, fmt in _SUFFIXES.items():
        if name.lower().endswith(suffix):
            return fmt
    start = head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if start == b"<":
        return "xml"
    if start in (b"{", b"["):
        return "jsonl"
    first = head.split(b"\n", 1)[0]
    return "tsv" if b"\t" in first else "csv"


def rows(stream: IO[bytes], name: str, fmt: str) -> Iterator[tuple[int, Row] | Problem]:
    """Each row of the feed with the line it starts on, or the problem of a row that cannot
    be read. A feed that cannot be read at all raises ``BadInput`` (``invalid_feed``)."""
    if fmt not in FORMATS:
        raise invalid(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}", name)
    if fmt == "xml":
        return _xml(stream)
    if fmt == "jsonl":
        return _jsonl(stream)
    return _text(stream, name, "\t" if fmt == "tsv" else ",")


class _Decoded:
    """A binary stream's lines as text for the csv module, one line at a time; a line that is
    not UTF-8 is read with replacement characters and its number kept in ``bad``."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.stream = stream
        self.number = 0
        self.bad: set[int] = set()

    def __iter__(self) -> Iterator[str]:
        for raw in self.stream:
            self.number += 1
            line = raw.removeprefix(b"\xef\xbb\xbf") if self.number == 1 else raw
            try:
                yield line.decode("utf-8")
            except UnicodeDecodeError:
                self.bad.add(self.number)
                yield line.decode("utf-8", errors="replace")


def _text(stream: IO[bytes], name: str, delimiter: str) -> Iterator[tuple[int, Row] | Problem]:
    lines = _Decoded(stream)
    csv.field_size_limit(_CSV_LIMIT)
    reader = csv.reader(iter(lines), delimiter=delimiter)
    try:
        header = [key(h) for h in next(reader, [])]
    except csv.Error as exc:
        raise invalid(f"the header cannot be read: {exc}", name) from exc
    if lines.bad:
        raise invalid("the header is not UTF-8 text", name)
    if not any(header):
        raise invalid("the feed has no header line of attribute names", name)
    return _text_rows(reader, header, lines.bad)


def _text_rows(
    reader: Any, header: list[str], bad: set[int]
) -> Iterator[tuple[int, Row] | Problem]:
    line = reader.line_num + 1
    while True:
        try:
            cells = next(reader, None)
        except csv.Error as exc:
            yield Problem(line, "", f"the rest of the feed cannot be read: {exc}")
            return
        if cells is None:
            return
        if bad and any(n in bad for n in range(line, reader.line_num + 1)):
            yield Problem(line, "", "the row is not UTF-8 text")
        elif any(c.strip() for c in cells):
            extra = [c for c in cells[len(header) :] if c.strip()]
            if extra:
                yield Problem(line, "", f"{len(cells)} fields where the header names {len(header)}")
            else:
                pairs = zip(header, cells, strict=False)
                yield line, {h: c.strip() for h, c in pairs if h and c.strip()}
        line = reader.line_num + 1


def _jsonl(stream: IO[bytes]) -> Iterator[tuple[int, Row] | Problem]:
    for line, raw in enumerate(stream, 1):
        if not raw.strip():
            continue
        try:
            data = orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            yield Problem(line, "", f"not valid JSON: {exc}")
            continue
        if not isinstance(data, dict):
            yield Problem(line, "", "each line must be a JSON object")
            continue
        yield line, {key(k): v for k, v in data.items() if v is not None and v != ""}


class _Items(ContentHandler):
    """SAX handler: each ``item`` (RSS) or ``entry`` (Atom) as a row, children by local name
    (``g:price`` -> ``price``), a child with children of its own as a dict."""

    def __init__(self) -> None:
        super().__init__()
        self.done: list[tuple[int, Row]] = []
        self.locator: Locator | None = None
        self.depth = 0
        self.item: Row | None = None
        self.item_depth = 0
        self.item_line = 0
        self.text: list[str] = []
        self.nested: dict[str, str] = {}

    def setDocumentLocator(self, locator: Locator) -> None:
        self.locator = locator

    def startElementNS(
        self, name: tuple[str | None, str], _qname: str | None, attrs: AttributesNSImpl
    ) -> None:
        self.depth += 1
        local = name[1]
        if self.item is None:
            if local in _ITEMS:
                self.item, self.item_depth = {}, self.depth
                self.item_line = (self.locator.getLineNumber() or 0) if self.locator else 0
            return
        if self.depth == self.item_depth + 1:
            self.nested = {}
        self.text = [attrs.get((None, "href"), "")] if local == "link" else []

    def characters(self, content: str) -> None:
        self.text.append(content)

    def endElementNS(self, name: tuple[str | None, str], _qname: str | None) -> None:
        local = name[1]
        if self.item is not None:
            if self.depth == self.item_depth + 2:
                self.nested[key(local)] = "".join(self.text).strip()
            elif self.depth == self.item_depth + 1:
                value: Any = self.nested or "".join(self.text).strip()
                _add(self.item, key(local), value)
                self.nested = {}
            elif self.depth == self.item_depth:
                self.done.append((self.item_line, self.item))
                self.item = None
        self.text = []
        self.depth -= 1


def _add(row: Row, name: str, value: Any) -> None:
    if value in ("", {}):
        return
    if name not in row:
        row[name] = value
    elif isinstance(row[name], list):
        row[name].append(value)
    else:
        row[name] = [row[name], value]


def _xml(stream: IO[bytes]) -> Iterator[tuple[int, Row] | Problem]:
    parser = expatreader.create_parser()
    parser.setFeature(feature_namespaces, True)
    handler = _Items()
    handler.locator = parser  # fed in chunks, the parser is its own locator
    parser.setContentHandler(handler)
    try:
        while chunk := stream.read(_CHUNK):
            parser.feed(chunk)
            yield from handler.done
            handler.done.clear()
        parser.close()
    except SAXParseException as exc:
        yield from handler.done
        yield Problem(exc.getLineNumber() or 0, "", f"the XML cannot be read from here on: {exc}")
        return
    except ValueError as exc:  # defusedxml refuses entities and DTDs
        yield from handler.done
        yield Problem(handler.item_line, "", f"the XML is refused: {exc}")
        return
    yield from handler.done


class Fields:
    """Typed reads of one row; each bad value becomes a :class:`Problem` in ``problems``
    and reads as None. ``used`` collects the attributes read, so that the rest can be kept
    as the row's other attributes."""

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
        if isinstance(value, bool) or not isinstance(value, str | int | float | type(None)):
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
        found: dict[str, str | None] = {}
        for name, limit in limits.items():
            value = self.row.get(name)
            if value.__class__ is str:
                text = value.strip()
                if text and len(text) <= limit and "\x00" not in text:
                    found[name] = text
                    continue
            found[name] = None if value is None else self._text(name, value, False, limit)
        return found

    def ident(self, name: str, *, required: bool = True) -> str | None:
        return self.text(name, required=required, limit=bounds.MAX_ID)

    def texts(self, name: str) -> list[str]:
        """A repeated attribute: a list (XML, JSON) or comma-separated text."""
        value = self.raw(name)
        if value is None:
            return []
        if isinstance(value, str):
            if '"' not in value:  # no quoting: the csv module would split at each comma
                return [v for v in (p.strip() for p in value.split(",")) if v and "\x00" not in v]
            value = next(csv.reader([value], skipinitialspace=True), [])
        if not isinstance(value, list):
            value = [value]
        found = [str(v).strip() for v in value if isinstance(v, str | int | float)]
        return [v for v in found if v and "\x00" not in v]

    def choice(self, name: str, allowed: Sequence[str], default: str | None = None) -> str | None:
        """One of ``allowed``; ``in stock`` and ``In_Stock`` both read as ``in_stock``."""
        text = self.text(name)
        if text is None:
            return default
        found = text.lower().replace(" ", "_")
        spaced = found.replace("_", "-")
        for option in allowed:
            if option in (found, spaced):
                return option
        self.problem(name, f"{text!r} is not one of {', '.join(allowed)}")
        return default

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
        found = _MONEY.match(str(value).strip())
        if found is None:
            self.problem(name, f"{value!r} is not a price such as '15.00 USD'")
            return None
        amount = float(found.group(1) or found.group(4))
        if amount > bounds.MAX_FLOAT:
            self.problem(name, f"{amount:g} is out of range")
            return None
        return amount, (found.group(2) or found.group(3)).upper()

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
            values = value if isinstance(value, list) else [value]
            text = ",".join(str(v) for v in values if isinstance(v, str | int | float))
            if text and "\x00" not in text:
                found[name] = text
        return found
