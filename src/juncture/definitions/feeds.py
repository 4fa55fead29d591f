"""Rows of a retailer's feed, in the formats Google Merchant Center reads: tab-separated or
comma-separated text with a header of attribute names, the RSS 2.0 or Atom XML feed with
the ``g:`` namespace, and JSON lines. :func:`rows` yields each row with the line it starts
on (a dict of attribute name to value: text, a list for a repeated attribute, a dict for
one with sub-attributes such as XML's ``g:product_detail``), or a :class:`Problem` where a
row cannot be read; :class:`juncture.definitions.fields.Fields` reads typed values out of a
row.

Attribute names are matched as Merchant Center matches them: case-insensitively, with
spaces as underscores and without a ``g:`` prefix (``Image Link`` is ``image_link``).

XML goes through defusedxml (no entity expansion, no external entities). Reading is
streaming: a feed of a million items never sits in memory whole.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any, Final
from xml.sax import SAXParseException
from xml.sax.handler import ContentHandler, feature_namespaces
from xml.sax.xmlreader import AttributesNSImpl, Locator

import orjson
from defusedxml import expatreader

from juncture.errors import BadInput

FORMATS: Final = ("tsv", "csv", "xml", "jsonl")
_SUFFIXES: Final = {
    ".tsv": "tsv", ".txt": "tsv", ".csv": "csv", ".xml": "xml", ".rss": "xml",
    ".atom": "xml", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "jsonl",
}  # fmt: skip
_CHUNK: Final = 1 << 16
_ITEMS: Final = frozenset({"item", "entry"})
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
    line, width = reader.line_num + 1, len(header)
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
        elif len(cells) > width and any(c.strip() for c in cells[width:]):
            yield Problem(line, "", f"{len(cells)} fields where the header names {width}")
        else:
            row = {h: c for h, c in zip(header, map(str.strip, cells), strict=False) if c and h}
            if row or any(c.strip() for c in cells):  # a blank line is no row
                yield line, row
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
