"""The ``juncture`` command. Thin: parse flags, build settings, call the runtime."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from juncture.cli.access import audit, tokens_app, users_app
from juncture.cli.bench import bench_app
from juncture.cli.catalog import catalog_app
from juncture.cli.demo import demo
from juncture.cli.engine import engine
from juncture.cli.journeys import journeys_app
from juncture.cli.lag import applied_later, lag
from juncture.cli.measure import measure_app
from juncture.cli.options import DatabaseUrl
from juncture.cli.overdue import OnOverdue, Overdue, OverdueAfter
from juncture.cli.profiles import profiles_app
from juncture.cli.quality import plans_app, quality_app
from juncture.cli.recs import recs_app
from juncture.cli.retention import retention_app
from juncture.cli.segments import segments_app
from juncture.cli.simulate import simulate
from juncture.cli.worker import worker
from juncture.errors import InvalidDefinition, InvalidSettings

if TYPE_CHECKING:
    from rich.progress import Progress

    from juncture.settings import Settings

# Building this command imports no more than typer, rich's console and the command modules:
# each command imports what it runs when it runs, so that `juncture --help` starts at once
# (tests/unit/test_cli_startup.py).

app = typer.Typer(no_args_is_help=True, help="Juncture: real-time customer journeys.")
db_app = typer.Typer(no_args_is_help=True, help="Schema migrations.")
keys_app = typer.Typer(no_args_is_help=True, help="Write keys for the tracking API.")
failed_app = typer.Typer(no_args_is_help=True, help="The failed-event quarantine.")
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
app.add_typer(tokens_app, name="tokens")
app.add_typer(users_app, name="users")
app.command("audit")(audit)
app.add_typer(failed_app, name="failed")
app.add_typer(journeys_app, name="journeys")
app.add_typer(segments_app, name="segments")
app.add_typer(profiles_app, name="profiles")
app.add_typer(measure_app, name="measure")
app.add_typer(catalog_app, name="catalog")
app.add_typer(plans_app, name="plans")
app.add_typer(quality_app, name="quality")
app.add_typer(retention_app, name="retention")
app.add_typer(recs_app, name="recs")
app.command()(demo)
app.command()(engine)
app.command()(worker)
app.command()(lag)
app.add_typer(bench_app, name="bench")
console = Console(stderr=True)
out = Console()


def settings_from(**flags: Any) -> Settings:
    """Settings from the environment, overridden by the flags that were given."""
    from juncture import settings

    return settings.load(**flags)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8765)")] = None,
    database_url: DatabaseUrl = None,
    overdue: Overdue = OnOverdue.ASK,
    overdue_after: OverdueAfter = 24.0,
) -> None:
    """Run the HTTP API (tracking, admin, health, metrics) and the outbox dispatcher."""
    from juncture import wiring
    from juncture.channels.base import ChannelMisconfigured
    from juncture.cli import overdue as on_overdue
    from juncture.cli import server as cli_server
    from juncture.runtime import heap
    from juncture.runtime.clock import SystemClock

    settings = settings_from(host=host, port=port, database_url=database_url)
    wiring.configure_logging(settings.log_level)
    store = wiring.open_store(settings)  # what is overdue decides how the engine starts
    try:
        holder = on_overdue.NODE if settings.log_url else on_overdue.SERVER
        live = on_overdue.fire(store, overdue, overdue_after, SystemClock().now(), holder)
    finally:
        store.close()
    juncture = wiring.build(settings, hold_timers=not live)
    juncture.start_engine_process()
    if live:
        juncture.start_scheduler()
        juncture.start_campaigns()
    juncture.start_retention()
    juncture.start_summaries()
    juncture.start_recs_trainer()
    try:
        if live:
            juncture.start_dispatcher()
    except ChannelMisconfigured as exc:
        juncture.close()
        console.print(f"[red]{exc.message}[/]")
        raise typer.Exit(2) from exc
    if not settings.write_key_list():
        console.print(
            "[yellow]no JUNCTURE_WRITE_KEYS set: only keys from `juncture keys "
            "create` are accepted[/]"
        )
    app = juncture.app()
    if settings.demo_storefront and settings.write_key_list():
        from juncture.demo import storefront

        storefront.mount(
            app, settings.write_key_list()[0], juncture.store, juncture.clock
        )  # write keys are public in pages
        storefront.stock(juncture.store, juncture.clock.now())  # an empty shop only
    elif settings.demo_storefront:
        console.print("[yellow]the demo storefront needs JUNCTURE_WRITE_KEYS: not served[/]")
    heap.settle()
    try:
        cli_server.run(app, settings)
    finally:
        juncture.close()


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseUrl = None) -> None:
    """Apply every pending migration."""
    from juncture import wiring

    store = wiring.open_store(settings_from(database_url=database_url, auto_migrate=False))
    store.migrate()
    out.print(f"schema at revision {store.schema_revision()}")
    store.close()


@db_app.command("current")
def db_current(database_url: DatabaseUrl = None) -> None:
    """Show the schema revision of the database and the newest one this version knows."""
    from juncture import wiring
    from juncture.store import migrate

    store = wiring.open_store(settings_from(database_url=database_url, auto_migrate=False))
    out.print(f"database: {store.schema_revision()}  newest: {migrate.head()}")
    store.close()


@keys_app.command("create")
def keys_create(name: str, database_url: DatabaseUrl = None) -> None:
    """Mint a write key into the store. It is printed once; only its hash is kept."""
    import secrets

    from juncture import wiring
    from juncture.runtime.clock import SystemClock
    from juncture.settings import key_hash, source_of

    settings = settings_from(database_url=database_url)
    store = wiring.open_store(settings)
    key = "wk_" + secrets.token_urlsafe(24)

    store.add_write_key(
        source=source_of(key), name=name, key_hash=key_hash(key), at=SystemClock().now()
    )
    store.close()
    out.print(key)
    console.print(f"source {source_of(key)}: keep the key above, it is not shown again")


@app.command("import")
def import_(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    fmt: Annotated[
        str | None, typer.Option("--format", help="jsonl | orders | customers (guessed)")
    ] = None,
    source: Annotated[str, typer.Option(help="Source name that dedup is scoped to")] = "import",
    map_: Annotated[
        list[str] | None, typer.Option("--map", help='Rename a CSV column: "Their Name=ours"')
    ] = None,
    schema: Annotated[
        Path | None,
        typer.Option(help="YAML/JSON file of CSV column types (columns: {age: number})"),
    ] = None,
    type_: Annotated[
        list[str] | None,
        typer.Option("--type", help="A CSV column's type: age=number (boolean, time, list)"),
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Load history through the same validation, dedup and quarantine as live traffic."""
    from juncture import wiring
    from juncture.definitions import columns
    from juncture.runtime.importer import import_file

    mapping = dict(m.split("=", 1) for m in (map_ or []) if "=" in m)
    try:
        types = {**(columns.load(schema) if schema else {}), **columns.parse_pairs(type_ or [])}
    except InvalidDefinition as exc:
        typer.echo(exc.message, err=True)
        raise typer.Exit(2) from None
    juncture = wiring.build(settings_from(database_url=database_url))
    with file.open("rb") as f:
        total = sum(1 for line in f if line.strip()) if file.suffix != ".csv" else None
    try:
        with _progress("importing") as bar:
            task = bar.add_task("import", total=total)
            report = import_file(
                file,
                juncture.ingestor,
                source=source,
                fmt=fmt,
                mapping=mapping,
                progress=lambda n: bar.advance(task, n),
                types=types,
            )
    finally:
        juncture.close()
    typer.echo(
        f"{report.lines} messages read: {report.stored} stored, "
        f"{report.duplicates} already there, {len(report.rejected)} rejected"
    )
    applied_later(juncture.settings, report.stored)
    for line, code, message in report.rejected[:50]:
        typer.echo(f"{file}:{line}: {code}: {message}")
    if len(report.rejected) > 50:
        typer.echo(
            f"... and {len(report.rejected) - 50} more "
            "(messages that failed validation are in `juncture failed list`)"
        )
    if report.rejected:
        raise typer.Exit(1)


@failed_app.command("list")
def failed_list(
    limit: int = 50,
    all_: Annotated[bool, typer.Option("--all", help="Include replayed rows")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Show quarantined messages and why they were rejected."""
    from rich.table import Table

    from juncture import wiring

    store = wiring.open_store(settings_from(database_url=database_url))
    rows = store.failed(status=None if all_ else "failed", limit=limit)
    store.close()
    table = Table("id", "received", "code", "where", "reason", "status")
    for r in rows:
        table.add_row(
            str(r.id),
            r.received_at.isoformat(timespec="seconds"),
            r.code,
            r.path,
            r.reason,
            r.status,
        )
    out.print(table)


@failed_app.command("replay")
def failed_replay(
    ids: Annotated[list[int] | None, typer.Argument(help="Rows to replay (default: all)")] = None,
    payload: Annotated[
        Path | None, typer.Option(help="A corrected JSON message for the one id given")
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Validate quarantined messages again and store those that pass now."""
    from juncture import wiring
    from juncture.runtime.ingest import replay_failed

    juncture = wiring.build(settings_from(database_url=database_url))
    try:
        rows = juncture.store.failed(status="failed", limit=100_000)
        if ids:
            rows = [r for r in rows if r.id in set(ids)]
        payloads = None
        if payload is not None:
            if not ids or len(ids) != 1:
                raise typer.BadParameter("--payload needs exactly one id")
            payloads = {ids[0]: payload.read_bytes()}
        result = replay_failed(juncture.store, juncture.ingestor, rows, payloads)
    finally:
        juncture.close()
    typer.echo(f"replayed {len(result.replayed)}; still failing {len(result.still_failing)}")
    applied_later(juncture.settings, len(result.replayed))
    for row_id, reason in result.still_failing:
        typer.echo(f"  {row_id}: {reason}")


@app.command()
def replay(
    until: Annotated[
        str, typer.Option(help="Where the clock ends: now, last (the last event) or ISO 8601")
    ] = "now",
    database_url: DatabaseUrl = None,
) -> None:
    """Rebuild every profile, identity link, merge and timer from the event log.

    Events are kept; derived events already stored are not stored twice. Stop the server
    first: replay writes the engine state outside it.
    """
    import datetime as dt

    from juncture import wiring
    from juncture.runtime import replay as replaying
    from juncture.runtime.clock import SystemClock
    from juncture.store.rebuild import Rebuild

    if until == "now":
        end: dt.datetime | None = SystemClock().now()
    elif until == "last":
        end = None
    else:
        try:
            end = dt.datetime.fromisoformat(until)
        except ValueError as exc:
            raise typer.BadParameter(
                "give now, last or an ISO 8601 time", param_hint="--until"
            ) from exc
        if end.tzinfo is None:
            raise typer.BadParameter(
                "give a time zone, e.g. 2026-03-02T00:00:00Z", param_hint="--until"
            )
    settings = settings_from(database_url=database_url)
    wiring.configure_logging(settings.log_level)
    store = wiring.open_store(settings)
    try:
        total = Rebuild(store).count_client_events()
        with _progress("replaying") as bar:
            task = bar.add_task("replay", total=total)
            summary = replaying.replay(
                store,
                config=wiring.engine_config(settings),  # the rules `serve` runs with
                until=end,
                progress=lambda n: bar.advance(task, n),
            )
    finally:
        store.close()
    _print_replay(summary)


def _progress(what: str) -> Progress:
    """A progress bar on stderr: ``what``, the bar, done of total, time elapsed."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    columns = (TextColumn(what), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    return Progress(*columns, console=console)


def _print_replay(summary: Any) -> None:
    from rich.table import Table

    data = summary.to_json()
    table = Table("what", "count", title=f"Replay ({data['seconds']:.1f} s)")
    table.add_row("client events replayed", f"{data['events']:,}")
    table.add_row("commits", f"{data['commits']:,}")
    table.add_row("derived events (signals, stages)", f"{data['derived']:,}")
    table.add_row("  of which new", f"{data['derived_new']:,}")
    table.add_row("events moved to another profile", f"{data['relinked']:,}")
    table.add_row("engine errors (see the log)", f"{data['engine_errors']:,}")
    table.add_row("events dated outside 1970..2200, skipped", f"{len(data['out_of_range']):,}")
    store = data["store"]
    table.add_row("profiles", f"{store['profiles']:,}")
    table.add_row("profiles merged into others", f"{store['merged_profiles']:,}")
    table.add_row("identity links refused", f"{store['identity_conflicts']:,}")
    table.add_row("timers pending", f"{store['timers_pending']:,}")
    out.print(table)
    if data["clock"]:
        out.print(f"clock at the end: {data['clock']}")


app.command()(simulate)  # listed after the commands that run Juncture itself


def main() -> None:
    """The ``juncture`` command. A bad ``JUNCTURE_*`` value or flag ends it with status 2 and
    one line naming it, rather than a traceback."""
    try:
        app()
    except InvalidSettings as exc:
        for line in exc.message.splitlines():
            console.print(f"juncture: {line}", markup=False, highlight=False, soft_wrap=True)
        raise SystemExit(2) from None
