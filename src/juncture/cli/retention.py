"""``juncture retention run``: delete what is older than its window, once (``juncture serve``
does it every ``JUNCTURE_RETENTION_INTERVAL``); docs/operations.md: Retention."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from juncture.cli.options import DatabaseUrl

retention_app = typer.Typer(no_args_is_help=True, help="Retention windows per data class.")


@retention_app.command("run")
def run(
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Only count what would go")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Delete raw events, derived events, finished deliveries and quarantined messages older
    than their JUNCTURE_RETAIN_* windows; print how many of each (JSON)."""
    from juncture import wiring
    from juncture.errors import JunctureError
    from juncture.runtime import retention
    from juncture.runtime.clock import SystemClock
    from juncture.settings import load as load_settings
    from juncture.store.retention import Retention

    settings = load_settings(**({"database_url": database_url} if database_url else {}))
    windows = wiring.retention_windows(settings)
    if not windows.any():
        typer.echo("no JUNCTURE_RETAIN_* window is set: everything is kept", err=True)
        raise typer.Exit(0)
    store = wiring.open_store(settings)
    try:
        done = retention.run(
            Retention(store.engine),
            windows,
            SystemClock().now(),
            wiring.applied_through(settings, store),
            dry_run=dry_run,
        )
    except JunctureError as exc:
        typer.echo(f"{exc.code}: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    finally:
        store.close()
    typer.echo(json.dumps({"dryRun": dry_run, "deleted" if not dry_run else "wouldDelete": done}))
