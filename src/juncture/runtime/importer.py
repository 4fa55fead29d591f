"""History import: JSON lines of Segment messages, and CSV of orders or customers.

Every row goes through the same validation, dedup and quarantine as live traffic. Rows are
turned into Segment messages with ids derived from their content, so importing the same
file twice stores nothing new.

CSV column mapping (names are matched case-insensitively; ``--map "Their Name=ours"``
renames a column first):

* orders (one row per order line, grouped by ``order_id``): ``order_id`` (required),
  ``customer_id`` -> userId (or ``email``), ``timestamp``/``ordered_at``, ``product_id``,
  ``sku``, ``name``, ``category``, ``brand``, ``price``, ``quantity``, ``currency``,
  ``total``, ``channel`` (default ``store``) -> one ``Order Completed`` per order.
* customers: ``customer_id`` -> userId (required), every other column -> a trait
  (``email``, ``phone``, ``first_name``, ``city``...), ``created_at`` -> timestamp
  -> one ``identify`` per row. Traits are text unless the column's type is declared
  (``types``, :mod:`juncture.definitions.columns`: number, boolean, time, list).

A CSV row that cannot make a valid message is refused with its line, column and reason
(:class:`RowError`) while the other rows are imported: an order line without ``order_id``,
an order without ``customer_id`` or ``email``, a ``price`` or ``total`` that is not a
number of 0 or more, a ``quantity`` that is not a whole number of 1 or more (an order with
one bad line is refused whole), a customer without ``customer_id``, a value that is not of
its column's declared type.
"""

from __future__ import annotations

import csv
import hashlib
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TypeVar

import msgspec
import orjson

from juncture.core import messages
from juncture.definitions import columns
from juncture.runtime.ingest import Ingestor

FORMATS: Final = ("jsonl", "orders", "customers")
_CHUNK: Final = 1000
_T = TypeVar("_T")


@dataclass(frozen=True, slots=True)
class RowError:
    """A CSV row that cannot become a valid message (an order without ``order_id``, a price
    that is not a number). It is reported with its line and not imported; it is not
    quarantined, because the file, not a message, is what needs fixing."""

    code: str
    where: str  # the CSV column
    what: str


Item = tuple[int, bytes | RowError]  # a line number and the message read there, or why not


@dataclass
class ImportReport:
    lines: int = 0
    stored: int = 0
    duplicates: int = 0
    rejected: list[tuple[int, str, str]] = field(default_factory=list)  # line, code, message


Progress = Callable[[int], None]


def guess_format(path: Path) -> str:
    if path.suffix in (".jsonl", ".ndjson", ".json"):
        return "jsonl"
    with path.open(newline="", encoding="utf-8") as f:
        header = [h.strip().lower() for h in next(csv.reader(f), [])]
    return "orders" if "order_id" in header else "customers"


def import_file(
    path: Path,
    ingestor: Ingestor,
    *,
    source: str,
    fmt: str | None = None,
    mapping: dict[str, str] | None = None,
    progress: Progress | None = None,
    types: dict[str, str] | None = None,
) -> ImportReport:
    """``types``: declared column types of a customers CSV (column -> number, boolean, ...)."""
    kind = fmt or guess_format(path)
    if kind not in FORMATS:
        raise ValueError(f"unknown format {kind!r}; expected one of {', '.join(FORMATS)}")
    renames = {k.lower(): v.lower() for k, v in (mapping or {}).items()}
    rows = _jsonl(path) if kind == "jsonl" else _csv_messages(path, kind, renames, types or {})
    report = ImportReport()
    chunk: list[tuple[int, bytes]] = []
    for line, raw in rows:
        if isinstance(raw, RowError):
            report.lines += 1
            report.rejected.append((line, raw.code, f"{raw.where}: {raw.what}"))
            continue
        chunk.append((line, raw))
        if len(chunk) >= _CHUNK:
            _flush(chunk, ingestor, source, report, progress)
            chunk = []
    _flush(chunk, ingestor, source, report, progress)
    report.rejected.sort(key=lambda rejection: rejection[0])
    return report


def _flush(
    chunk: Sequence[tuple[int, bytes]],
    ingestor: Ingestor,
    source: str,
    report: ImportReport,
    progress: Progress | None,
) -> None:
    if not chunk:
        return
    envelope = messages.Envelope(
        messages=[msgspec.Raw(raw) for _, raw in chunk], path_prefix="$", single=False
    )
    outcome = ingestor.ingest_sync(envelope, source)
    report.lines += len(chunk)
    report.stored += outcome.receipt.stored
    report.duplicates += outcome.receipt.duplicates
    for rejection in outcome.rejected:
        line = chunk[rejection.index][0]
        path = "$" + rejection.path.split("]", 1)[1] if "]" in rejection.path else "$"
        report.rejected.append((line, rejection.code, f"{path}: {rejection.message}"))
    if progress is not None:
        progress(len(chunk))


def _jsonl(path: Path) -> Iterator[Item]:
    with path.open("rb") as f:
        for number, line in enumerate(f, start=1):
            stripped = line.strip()
            if stripped:
                yield number, stripped


def _csv_messages(
    path: Path, kind: str, mapping: dict[str, str], types: dict[str, str]
) -> Iterator[Item]:
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        rows = (
            (
                reader.line_num,
                {
                    mapping.get(k.strip().lower(), k.strip().lower()): v
                    for k, v in row.items()
                    if k is not None
                },
            )
            for row in reader
        )
        if kind == "customers":
            for line, row in rows:
                yield line, _encoded(lambda r: _customer(r, types), row)
            return
        yield from _orders(rows)


class _BadRow(Exception):
    def __init__(self, code: str, where: str, what: str) -> None:
        super().__init__(what)
        self.error = RowError(code, where, what)


def _encoded(build: Callable[[_T], dict[str, Any]], rows: _T) -> bytes | RowError:
    try:
        return orjson.dumps(build(rows))
    except _BadRow as exc:
        return exc.error


def _content_id(prefix: str, content: Any) -> str:
    digest = hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return f"{prefix}-{digest[:24]}"


def _customer(row: dict[str, str], types: dict[str, str]) -> dict[str, Any]:
    if not (row.get("customer_id") or "").strip():
        raise _BadRow("missing_field", "customer_id", "a customer row needs a customer_id")
    traits = {
        k: _typed(k, v, types) for k, v in row.items() if v not in ("", None) and k != "customer_id"
    }
    message: dict[str, Any] = {
        "type": "identify",
        "userId": row["customer_id"],
        "traits": traits,
        "context": {"channel": "import"},
        "messageId": _content_id("import-customer", row),
    }
    if row.get("created_at"):
        message["timestamp"] = row["created_at"]
    return message


def _typed(column: str, text: str, types: dict[str, str]) -> Any:
    kind = types.get(column)
    if kind is None:
        return text
    try:
        return columns.convert(kind, text)
    except ValueError as exc:
        raise _BadRow("invalid_value", column, str(exc)) from exc


def _orders(rows: Iterator[tuple[int, dict[str, str]]]) -> Iterator[Item]:
    # Lines of one order are consecutive in every export we know; a new order_id closes
    # the previous order. A line without an order_id belongs to no order: it is refused
    # on its own rather than guessed into its neighbour.
    current: list[tuple[int, dict[str, str]]] = []
    for line, row in rows:
        if not (row.get("order_id") or "").strip():
            yield line, RowError("missing_field", "order_id", "an order line needs an order_id")
            continue
        if current and row["order_id"] != current[0][1]["order_id"]:
            yield _order_item(current)
            current = []
        current.append((line, row))
    if current:
        yield _order_item(current)


def _order_item(lines: list[tuple[int, dict[str, str]]]) -> Item:
    """The order as one message, or the first bad line of it: an order with a bad line is
    refused whole, since its total and products would be wrong without that line."""
    for line, row in lines:
        try:
            _line(row)
            _number(row, "total")
        except _BadRow as exc:
            return line, exc.error
    return lines[0][0], _encoded(_order, lines)


def _number(row: dict[str, str], column: str) -> float | None:
    text = (row.get(column) or "").strip()
    if not text:
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise _BadRow("invalid_value", column, f"{text!r} is not a number of 0 or more")
    return value


def _quantity(row: dict[str, str]) -> int:
    value = _number(row, "quantity")
    if value is None:
        return 1
    if value < 1 or not value.is_integer():
        text = row["quantity"].strip()
        raise _BadRow("invalid_value", "quantity", f"{text!r} is not a whole number of 1 or more")
    return int(value)


def _line(row: dict[str, str]) -> dict[str, Any]:
    fields: dict[str, Any] = {
        k: row[k] for k in ("product_id", "sku", "name", "category", "brand") if row.get(k)
    }
    price = _number(row, "price")
    if price is not None:
        fields["price"] = price
    fields["quantity"] = _quantity(row)
    return fields


def _order(lines: list[tuple[int, dict[str, str]]]) -> dict[str, Any]:
    first = lines[0][1]
    if not (first.get("customer_id") or first.get("email") or "").strip():
        raise _BadRow("missing_field", "customer_id", "an order needs a customer_id or an email")
    products = [_line(row) for _, row in lines]
    total = _number(first, "total")
    if total is None:
        total = sum(float(p.get("price", 0.0)) * int(p["quantity"]) for p in products)
    message: dict[str, Any] = {
        "type": "track",
        "event": "Order Completed",
        "userId": first.get("customer_id") or None,
        "properties": {
            "order_id": first["order_id"],
            "total": total,
            "revenue": total,
            "currency": first.get("currency") or "USD",
            "products": products,
        },
        "context": {"channel": first.get("channel") or "store"},
        "messageId": _content_id("import-order", [row for _, row in lines]),
    }
    if first.get("email"):
        message["context"]["traits"] = {"email": first["email"]}
        if not message["userId"]:
            message["anonymousId"] = (
                "email:" + hashlib.sha256(first["email"].strip().lower().encode()).hexdigest()[:24]
            )
    when = first.get("timestamp") or first.get("ordered_at")
    if when:
        message["timestamp"] = when
    return message
