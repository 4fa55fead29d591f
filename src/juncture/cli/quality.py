"""``juncture plans ...`` and ``juncture quality report``: tracking plans per source and the
data-quality report, from the command line (docs/tracking.md: Tracking plans)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from juncture.cli.options import DatabaseUrl

if TYPE_CHECKING:
    from juncture.runtime.quality import Quality

plans_app = typer.Typer(no_args_is_help=True, help="Tracking plans: what each source may send.")
quality_app = typer.Typer(no_args_is_help=True, help="Data quality per source.")

Source = Annotated[str, typer.Option("--source", help="The source (write key's name) it holds")]


@contextmanager
def _quality(database_url: str | None) -> Iterator[Quality]:
    from juncture import wiring
    from juncture.errors import JunctureError
    from juncture.runtime import tracking_plans
    from juncture.runtime.quality import Quality, Tally
    from juncture.settings import load as load_settings
    from juncture.store.quality import QualityStore

    flags = {"database_url": database_url} if database_url else {}
    store = wiring.open_store(load_settings(**flags))
    quality_store = QualityStore(store.engine)
    try:
        yield Quality(quality_store, tracking_plans.load(quality_store), Tally())
    except JunctureError as exc:
        typer.echo(f"{exc.code}: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    finally:
        store.close()


def _print(data: Any) -> None:
    typer.echo(json.dumps(data, indent=2))


@plans_app.command("apply")
def apply(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    source: Source,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only validate")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Put the plan in FILE (YAML or JSON) in force for a source; problems as file:line.
    A running server reads plans when it starts, or takes them over the admin API at once."""
    from juncture.runtime.clock import SystemClock
    from juncture.runtime.quality import plan_json

    with _quality(database_url) as quality:
        text = file.read_text(encoding="utf-8")
        plan = quality.save_plan(source, text, str(file), SystemClock().now(), dry_run=dry_run)
        _print({**plan_json(source, plan), "saved": not dry_run})


@plans_app.command("list")
def listing(database_url: DatabaseUrl = None) -> None:
    """The sources that have a plan, and when it was saved."""
    with _quality(database_url) as quality:
        for stored in quality.store.plans():
            typer.echo(f"{stored.source}\t{stored.filename}\t{stored.updated_at.isoformat()}")


@plans_app.command("delete")
def delete(source: str, database_url: DatabaseUrl = None) -> None:
    """Stop checking a source's messages against a plan."""
    with _quality(database_url) as quality:
        if not quality.drop_plan(source):
            typer.echo(f"no tracking plan for source {source!r}", err=True)
            raise typer.Exit(1)


@quality_app.command("report")
def report(
    source: str,
    since: Annotated[str, typer.Option(help="A duration back from now (24h, 7d)")] = "24h",
    database_url: DatabaseUrl = None,
) -> None:
    """The data-quality report of a source as JSON: violation rates by event, unplanned
    events, duplicates, late events and clock skew (what a running server wrote so far)."""
    from juncture.definitions.reader import parse_duration
    from juncture.runtime.clock import SystemClock

    try:
        window = parse_duration(since)
    except ValueError as exc:
        typer.echo(f"--since: {exc}", err=True)
        raise typer.Exit(2) from None
    now = SystemClock().now()
    with _quality(database_url) as quality:
        _print(quality.report(source, now - window, now))
