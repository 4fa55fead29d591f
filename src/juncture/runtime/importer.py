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
  -> one ``identify`` per row.
"""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import msgspec
import orjson

from juncture.core import messages
from juncture.runtime.ingest import Ingestor

FORMATS: Final = ("jsonl", "orders", "customers")
_CHUNK: Final = 1000


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
) -> ImportReport:
    kind = fmt or guess_format(path)
    if kind not in FORMATS:
        raise ValueError(f"unknown format {kind!r}; expected one of {', '.join(FORMATS)}")
    rows = (
        _jsonl(path)
        if kind == "jsonl"
        else _csv_messages(path, kind, {k.lower(): v.lower() for k, v in (mapping or {}).items()})
    )
    report = ImportReport()
    chunk: list[tuple[int, bytes]] = []
    for line, raw in rows:
        chunk.append((line, raw))
        if len(chunk) >= _CHUNK:
            _flush(chunk, ingestor, source, report, progress)
            chunk = []
    _flush(chunk, ingestor, source, report, progress)
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


def _jsonl(path: Path) -> Iterator[tuple[int, bytes]]:
    with path.open("rb") as f:
        for number, line in enumerate(f, start=1):
            stripped = line.strip()
            if stripped:
                yield number, stripped


def _csv_messages(path: Path, kind: str, mapping: dict[str, str]) -> Iterator[tuple[int, bytes]]:
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
                yield line, orjson.dumps(_customer(row))
            return
        yield from _orders(rows)


def _content_id(prefix: str, content: Any) -> str:
    digest = hashlib.sha256(orjson.dumps(content, option=orjson.OPT_SORT_KEYS)).hexdigest()
    return f"{prefix}-{digest[:24]}"


def _customer(row: dict[str, str]) -> dict[str, Any]:
    traits = {k: v for k, v in row.items() if v not in ("", None) and k != "customer_id"}
    message: dict[str, Any] = {
        "type": "identify",
        "userId": row.get("customer_id") or None,
        "traits": traits,
        "context": {"channel": "import"},
        "messageId": _content_id("import-customer", row),
    }
    if row.get("created_at"):
        message["timestamp"] = row["created_at"]
    return message


def _orders(rows: Iterator[tuple[int, dict[str, str]]]) -> Iterator[tuple[int, bytes]]:
    # Lines of one order are consecutive in every export we know; a new order_id closes
    # the previous order.
    current: list[tuple[int, dict[str, str]]] = []
    for line, row in rows:
        if current and row.get("order_id") != current[0][1].get("order_id"):
            yield current[0][0], orjson.dumps(_order(current))
            current = []
        current.append((line, row))
    if current:
        yield current[0][0], orjson.dumps(_order(current))


def _number(text: str | None) -> float | None:
    if text in (None, ""):
        return None
    try:
        return float(text)
    except ValueError:
        return None


def _line(row: dict[str, str]) -> dict[str, Any]:
    fields: dict[str, Any] = {
        k: row[k] for k in ("product_id", "sku", "name", "category", "brand") if row.get(k)
    }
    price = _number(row.get("price"))
    if price is not None:
        fields["price"] = price
    fields["quantity"] = int(_number(row.get("quantity")) or 1)
    return fields


def _order(lines: list[tuple[int, dict[str, str]]]) -> dict[str, Any]:
    first = lines[0][1]
    products = [_line(row) for _, row in lines]
    total = _number(first.get("total"))
    if total is None:
        total = sum(float(p.get("price", 0.0)) * int(p["quantity"]) for p in products)
    message: dict[str, Any] = {
        "type": "track",
        "event": "Order Completed",
        "userId": first.get("customer_id") or None,
        "properties": {
            "order_id": first.get("order_id"),
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
