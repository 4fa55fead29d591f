"""What the ``juncture measure`` commands share: their options, the measurement they read
from the configured store, and how an answer goes out (a table, JSON or CSV, to the
terminal or a file)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

if TYPE_CHECKING:
    from juncture.runtime.measurement import Measurement

out = Console()
err = Console(stderr=True)


class Format(StrEnum):
    table = "table"
    json = "json"
    csv = "csv"


FormatOption = Annotated[Format, typer.Option("--format", help="table, json or csv")]
Output = Annotated[Path | None, typer.Option("--output", help="Write to this file")]
Journey = Annotated[str | None, typer.Option("--journey", help="Only this journey")]
Window = Annotated[
    int, typer.Option("--window-days", help="An order within this many days of entry converts")
]
Lift = Annotated[
    float,
    typer.Option("--smallest-lift", help="Relative lift in conversion worth finding (0.1: 10%)"),
]
When = Annotated[
    dt.datetime | None,
    typer.Option(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"], help="UTC day or time"),
]
Segment = Annotated[str | None, typer.Option(help="Current members only")]


@contextmanager
def measurement(database_url: str | None) -> Iterator[Measurement]:
    """The measurement over the configured store; a Juncture error ends the command
    (exit 1) with its code and message on stderr."""
    from juncture import wiring
    from juncture.errors import JunctureError
    from juncture.runtime.measurement import Measurement
    from juncture.runtime.unit_of_work import commit
    from juncture.settings import load as load_settings

    flags = {"database_url": database_url} if database_url else {}
    settings = load_settings(**flags)
    store = wiring.open_store(settings)
    writer = store.writer()
    try:
        yield Measurement(
            store.journeys, store.journey_measures, store.customer_orders,
            lambda process: commit(writer, [], [], process), wiring.engine_config(settings),
        )  # fmt: skip
    except JunctureError as exc:
        typer.echo(f"{exc.code}: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    finally:
        writer.close()
        store.close()


def now() -> dt.datetime:
    from juncture.runtime.clock import SystemClock

    return SystemClock().now()


def emit(text: str, output: Path | None) -> None:
    """``text`` to stdout, or to ``output`` (saying so on stderr)."""
    if output is None:
        typer.echo(text, nl=bool(text) and not text.endswith("\n"))
    else:
        output.write_text(text, encoding="utf-8")
        err.print(f"written to {output}")


def as_json(data: Any) -> str:
    return json.dumps(data, indent=2, default=str) + "\n"


def rows_out(rows: list[dict[str, Any]], fmt: Format, output: Path | None) -> None:
    """Report rows as JSON, CSV (nested objects spread into columns) or a table."""
    from juncture.runtime.measurement import to_csv

    if fmt is Format.json:
        emit(as_json(rows), output)
    elif fmt is Format.csv:
        emit(to_csv(rows), output)
    else:
        table(rows)


def span(
    since: dt.datetime | None, until: dt.datetime | None
) -> tuple[dt.datetime | None, dt.datetime | None]:
    """``--since`` and ``--until`` as UTC times, ``since`` first."""
    first, last = (t.replace(tzinfo=dt.UTC) if t is not None else None for t in (since, until))
    if first and last and first >= last:
        raise typer.BadParameter("--since must come before --until")
    return first, last


def table(rows: list[dict[str, Any]]) -> None:
    """One column per row and a line per figure: the reports have more figures than a
    terminal has room for side by side."""
    from rich.table import Table

    from juncture.runtime.measurement import flat

    rows = flat(rows)
    names = list(dict.fromkeys(k for row in rows for k in row))
    shown = Table("", *(str(i + 1) for i in range(len(rows))))
    for n in names:
        shown.add_row(n, *(_cell(row.get(n)) for row in rows))
    out.print(shown)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:,.4g}" if isinstance(value, float) else str(value)
