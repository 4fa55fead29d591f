"""``juncture catalog ...``: the retailer's tables from the feeds it already produces."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from juncture.cli.lag import applied_later
from juncture.cli.options import DatabaseUrl

if TYPE_CHECKING:
    from rich.progress import Progress

catalog_app = typer.Typer(
    no_args_is_help=True, help="The retailer's tables: products, stock by location, locations."
)
SHOWN = 50  # refused rows listed; the rest are counted


class Kind(StrEnum):
    products = "products"
    inventory = "inventory"
    locations = "locations"
    loyalty_tiers = "loyalty_tiers"
    loyalty = "loyalty"
    promotions = "promotions"
    coupons = "coupons"
    associates = "associates"
    reviews = "reviews"
    store_events = "store_events"


class Format(StrEnum):
    tsv = "tsv"
    csv = "csv"
    xml = "xml"
    jsonl = "jsonl"


@catalog_app.command("import")
def import_feed(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    kind: Annotated[
        Kind,
        typer.Option(
            "--kind",
            help="products, inventory (local stock), locations, loyalty_tiers, loyalty, "
            "promotions, coupons, associates, reviews or store_events",
        ),
    ] = Kind.products,
    fmt: Annotated[
        Format | None,
        typer.Option("--format", help="tsv | csv | xml | jsonl (default: from the name)"),
    ] = None,
    full: Annotated[
        bool,
        typer.Option(
            "--full/--delta",
            help="--full: the feed lists everything, what it leaves out is retired",
        ),
    ] = False,
    chunk: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="Rows to a transaction (default 1,000, at most 10,000): fewer keep SQLite's "
            "write lock shorter for the events flowing meanwhile, more import faster",
        ),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Upsert a feed (Merchant Center product data, local inventory, locations) by id.
    Refused rows are listed as file:line: column: reason; the others are imported."""
    from juncture import settings, wiring
    from juncture.errors import JunctureError
    from juncture.runtime.catalog_events import Announcer
    from juncture.runtime.catalog_import import BATCH
    from juncture.runtime.catalog_import import import_feed as run
    from juncture.runtime.clock import SystemClock

    flags = {"database_url": database_url} if database_url else {}
    juncture = wiring.build(settings.load(**flags))  # its ingestion takes the announcements
    store = juncture.store
    try:
        with file.open("rb") as raw, _progress() as bar:
            task = bar.add_task(f"{kind.value}: 0 rows", total=file.stat().st_size)
            rows = [0]

            def counted(n: int) -> None:
                rows[0] += n
                bar.update(task, description=f"{kind.value}: {rows[0]:,} rows")

            with bar.wrap_file(raw, task_id=task) as stream:  # the bar follows the bytes read
                report = run(
                    store.catalog,
                    store.programmes,
                    stream,
                    str(file),
                    kind=kind.value,
                    now=SystemClock().now(),
                    fmt=fmt.value if fmt else None,
                    full=full,
                    progress=counted,
                    announce=Announcer(store.catalog, juncture.ingestor),
                    chunk=chunk or BATCH,
                )
    except JunctureError as exc:
        where = f"{exc.where}: " if exc.where else ""
        typer.echo(f"{where}{exc.code}: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    finally:
        juncture.close()
    typer.echo(
        f"{report.rows} rows of {kind.value} ({report.format}): {report.new} new, "
        f"{report.changed} changed, {report.unchanged} unchanged, "
        f"{report.refused_rows} refused, {report.retired} retired; "
        f"{report.announced} events for shoppers"
    )
    applied_later(juncture.settings, report.announced)
    for problem in report.refused[:SHOWN]:
        typer.echo(problem.where(str(file)), err=True)
    if report.problems > SHOWN:
        typer.echo(f"... and {report.problems - SHOWN:,} more problems", err=True)
    if report.refused_rows:
        raise typer.Exit(1)


def _progress() -> Progress:
    """A bar over the feed's bytes with the rows read so far, the rate and the time left
    (on stderr; gone when done)."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    return Progress(
        TextColumn("[progress.description]{task.description}"), BarColumn(), DownloadColumn(),
        TransferSpeedColumn(), TimeRemainingColumn(), console=Console(stderr=True),
        transient=True,
    )  # fmt: skip
