"""The ``juncture`` command. Thin: parse flags, build settings, call the runtime."""

from __future__ import annotations

import json
import secrets
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from juncture import settings as settings_module
from juncture import wiring
from juncture.cli_journeys import journeys_app
from juncture.cli_segments import segments_app
from juncture.cli_simulate import simulate
from juncture.errors import InvalidSettings
from juncture.settings import Settings, key_hash, source_of
from juncture.store import migrate

app = typer.Typer(no_args_is_help=True, help="Juncture: real-time customer journeys.")
db_app = typer.Typer(no_args_is_help=True, help="Schema migrations.")
keys_app = typer.Typer(no_args_is_help=True, help="Write keys for the tracking API.")
failed_app = typer.Typer(no_args_is_help=True, help="The failed-event quarantine.")
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
app.add_typer(failed_app, name="failed")
app.add_typer(journeys_app, name="journeys")
app.add_typer(segments_app, name="segments")
app.command()(simulate)
console = Console(stderr=True)
out = Console()

DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", help="Defaults to $JUNCTURE_DATABASE_URL or ./juncture.db"),
]


def settings_from(**flags: Any) -> Settings:
    """Settings from the environment, overridden by the flags that were given."""
    return settings_module.load(**flags)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1)")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default 8765)")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Run the HTTP API (tracking, admin, health, metrics) and the outbox dispatcher."""
    import uvicorn

    from juncture.channels.base import ChannelMisconfigured

    settings = settings_from(host=host, port=port, database_url=database_url)
    wiring.configure_logging(settings.log_level)
    juncture = wiring.build(settings)
    juncture.start_scheduler()
    try:
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
    try:
        uvicorn.run(
            juncture.app(),
            host=settings.host,
            port=settings.port,
            access_log=False,  # access lines carry client addresses: personal data
            log_config=None,
            loop="uvloop",
            http="httptools",
        )
    finally:
        juncture.close()


@db_app.command("upgrade")
def db_upgrade(database_url: DatabaseUrl = None) -> None:
    """Apply every pending migration."""
    store = wiring.open_store(settings_from(database_url=database_url, auto_migrate=False))
    migrate.upgrade(store.engine)
    out.print(f"schema at revision {migrate.current(store.engine)}")
    store.close()


@db_app.command("current")
def db_current(database_url: DatabaseUrl = None) -> None:
    """Show the schema revision of the database and the newest one this version knows."""
    store = wiring.open_store(settings_from(database_url=database_url, auto_migrate=False))
    out.print(f"database: {migrate.current(store.engine)}  newest: {migrate.head()}")
    store.close()


@keys_app.command("create")
def keys_create(name: str, database_url: DatabaseUrl = None) -> None:
    """Mint a write key into the store. It is printed once; only its hash is kept."""
    settings = settings_from(database_url=database_url)
    store = wiring.open_store(settings)
    key = "wk_" + secrets.token_urlsafe(24)
    from juncture.runtime.clock import SystemClock

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
    database_url: DatabaseUrl = None,
) -> None:
    """Load history through the same validation, dedup and quarantine as live traffic."""
    from juncture.runtime.importer import import_file

    mapping = dict(m.split("=", 1) for m in (map_ or []) if "=" in m)
    juncture = wiring.build(settings_from(database_url=database_url))
    with file.open("rb") as f:
        total = sum(1 for line in f if line.strip()) if file.suffix != ".csv" else None
    try:
        with Progress(
            TextColumn("importing"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as bar:
            task = bar.add_task("import", total=total)
            report = import_file(
                file,
                juncture.ingestor,
                source=source,
                fmt=fmt,
                mapping=mapping,
                progress=lambda n: bar.advance(task, n),
            )
    finally:
        juncture.close()
    typer.echo(
        f"{report.lines} messages read: {report.stored} stored, "
        f"{report.duplicates} already there, {len(report.rejected)} rejected"
    )
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
        with Progress(
            TextColumn("replaying"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as bar:
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


def _print_replay(summary: Any) -> None:
    data = summary.to_json()
    table = Table("what", "count", title=f"Replay ({data['seconds']:.1f} s)")
    table.add_row("client events replayed", f"{data['events']:,}")
    table.add_row("commits", f"{data['commits']:,}")
    table.add_row("derived events (signals, stages)", f"{data['derived']:,}")
    table.add_row("  of which new", f"{data['derived_new']:,}")
    table.add_row("events moved to another profile", f"{data['relinked']:,}")
    table.add_row("engine errors (see the log)", f"{data['engine_errors']:,}")
    store = data["store"]
    table.add_row("profiles", f"{store['profiles']:,}")
    table.add_row("profiles merged into others", f"{store['merged_profiles']:,}")
    table.add_row("identity links refused", f"{store['identity_conflicts']:,}")
    table.add_row("timers pending", f"{store['timers_pending']:,}")
    out.print(table)
    if data["clock"]:
        out.print(f"clock at the end: {data['clock']}")


bench_app = typer.Typer(no_args_is_help=True, help="The yardstick: figures against raw limits.")
app.add_typer(bench_app, name="bench")


@bench_app.command("ingest")
def bench_ingest(
    events: Annotated[int, typer.Option(help="Events to send per store")] = 200_000,
    concurrency: Annotated[int, typer.Option(help="Concurrent HTTP connections")] = 8,
    postgres_url: Annotated[
        str | None, typer.Option(help="Also bench PostgreSQL (a scratch database is created)")
    ] = None,
    output: Annotated[
        Path, typer.Option("--json-out", "--output", help="Where to write the JSON result")
    ] = Path("bench-ingest.json"),
    engine: Annotated[
        bool,
        typer.Option(
            "--engine/--no-engine",
            help="--no-engine: ingest only; by default both, with and without the engine",
        ),
    ] = True,
) -> None:
    """Events/s over HTTP (batches of 100, durable before 200), with the engine on the hot
    path and ingest only, each against raw inserts of the same rows in the same run."""
    from juncture.bench import ingest

    results = ingest.run(
        events=events,
        concurrency=concurrency,
        postgres_url=postgres_url,
        echo=typer.echo,
        modes=("engine", "ingest_only") if engine else ("ingest_only",),
    )
    output.write_text(json.dumps(results, indent=2))
    out.print(f"written to {output}")


JsonOut = Annotated[Path, typer.Option("--json-out", help="Where to write the JSON result")]


@bench_app.command("engine")
def bench_engine(
    events: Annotated[int, typer.Option(help="Events to append")] = 50_000,
    commit_events: Annotated[int, typer.Option(help="Events per commit")] = 2000,
    output: JsonOut = Path("bench-engine.json"),
) -> None:
    """Events/s through the engine in process (no HTTP), with and without the engine,
    against raw inserts of the same rows."""
    from juncture.bench import engine

    results = engine.run_engine(events=events, commit_events=commit_events, echo=typer.echo)
    output.write_text(json.dumps(results, indent=2))
    typer.echo(f"written to {output}")


@bench_app.command("timers")
def bench_timers(
    timers: Annotated[int, typer.Option(help="Cart-abandonment timers to fire")] = 20_000,
    max_seconds: Annotated[float, typer.Option(help="Stop firing after this long")] = 60.0,
    output: JsonOut = Path("bench-timers.json"),
) -> None:
    """Timers fired per second in event time, against the raw SQL of firing them."""
    from juncture.bench import engine

    results = engine.run_timers(timers=timers, max_seconds=max_seconds, echo=typer.echo)
    output.write_text(json.dumps(results, indent=2))
    typer.echo(f"written to {output}")


@bench_app.command("journeys")
def bench_journeys(
    events: Annotated[
        int, typer.Option(help="Orders to offer (at most rate x max-seconds)")
    ] = 5000,
    rate: Annotated[float, typer.Option(help="Offered load, events per second")] = 250.0,
    timers: Annotated[int, typer.Option(help="Enrollments waiting on a wait node")] = 20_000,
    max_seconds: Annotated[float, typer.Option(help="Bound on offering and on firing")] = 30.0,
    database_url: Annotated[
        str | None, typer.Option(help="Also bench this PostgreSQL (scratch databases)")
    ] = None,
    output: JsonOut = Path("bench-journeys.json"),
) -> None:
    """Event-to-outbox latency p50/p99 at a steady load and journey timers fired per
    second, each against the raw store limit measured in the same run."""
    from juncture.bench import journeys

    results = journeys.run(events=events, rate=rate, timers=timers, max_seconds=max_seconds,
                           postgres_url=database_url, echo=typer.echo)  # fmt: skip
    output.write_text(json.dumps(results, indent=2))
    typer.echo(f"written to {output}")


@bench_app.command("decide")
def bench_decide(
    visitors: Annotated[int, typer.Option(help="Known visitors (half with a cart)")] = 2000,
    requests: Annotated[int, typer.Option(help="Decisions to ask for")] = 10_000,
    concurrency: Annotated[int, typer.Option(help="Concurrent HTTP connections")] = 8,
    output: JsonOut = Path("bench-decide.json"),
) -> None:
    """Decisions/s and latency of POST /v1/decide under a bounded loopback load, against
    the HTTP floor (GET /healthz) on the same server."""
    from juncture.bench import decide

    results = decide.run(
        visitors=visitors, requests=requests, concurrency=concurrency, echo=typer.echo
    )
    output.write_text(json.dumps(results, indent=2))
    typer.echo(f"written to {output}")


@bench_app.command("segments")
def bench_segments(
    profiles: Annotated[int, typer.Option(help="Synthetic profiles")] = 1_000_000,
    events: Annotated[int, typer.Option(help="Synthetic events over two weeks")] = 2_000_000,
    engine_events: Annotated[
        int, typer.Option(min=500, help="Events through the engine, with and without segments")
    ] = 20_000,
    database_url: Annotated[
        str | None, typer.Option(help="Also bench this PostgreSQL (a scratch database)")
    ] = None,
    output: Annotated[Path, typer.Option("--json-out", "--output", help="JSON result")] = Path(
        "bench-segments.json"
    ),
) -> None:
    """Batch segment evaluation over N profiles against a raw scan; cost per event."""
    from juncture.bench import segments as bench

    results = bench.run(profiles=profiles, events=events, postgres_url=database_url, seed=1,
                        engine_events=engine_events, echo=typer.echo)  # fmt: skip
    output.write_text(json.dumps(results, indent=2))
    out.print(f"written to {output}")


DEMO_WRITE_KEY = "demo-write-key"
DEMO_ADMIN_TOKEN = "demo-admin-token"  # noqa: S105 - local demo only, printed to the user


@app.command()
def demo(
    customers: Annotated[int, typer.Option(help="Simulated customers")] = 2000,
    days: Annotated[int, typer.Option(help="Simulated days")] = 21,
    seed: Annotated[int, typer.Option(help="Same seed, same run")] = 1,
    database: Annotated[Path, typer.Option(help="Demo database (replaced)")] = Path(
        "juncture-demo.db"
    ),
    serve_after: Annotated[
        bool, typer.Option("--serve/--no-serve", help="Serve the API afterwards")
    ] = True,
    port: Annotated[int, typer.Option(help="Port to serve on")] = 8765,
    summary_json: Annotated[
        Path | None, typer.Option(help="Also write the summary as JSON here")
    ] = None,
) -> None:
    """Simulate a retailer through the real pipeline, summarize, then serve the API."""
    import time

    from juncture import demo as demo_run

    for suffix in ("", "-wal", "-shm"):
        Path(f"{database}{suffix}").unlink(missing_ok=True)
    settings = Settings(
        database_url=f"sqlite:///{database}",
        write_keys=DEMO_WRITE_KEY,
        admin_token=DEMO_ADMIN_TOKEN,
        sqlite_synchronous="NORMAL",
        port=port,
    )
    juncture, clock = demo_run.build(settings)
    started = time.perf_counter()
    try:
        with Progress(
            TextColumn("simulating {task.fields[days]} days"),
            BarColumn(),
            TimeElapsedColumn(),
            console=console,
        ) as bar:
            task = bar.add_task("demo", total=1.0, days=days)
            summary = demo_run.run(
                juncture,
                clock,
                seed=seed,
                customers=customers,
                days=days,
                progress=lambda f: bar.update(task, completed=f),
            )
    finally:
        juncture.close()
    seconds = time.perf_counter() - started
    _print_demo(summary, seconds)
    if summary_json is not None:
        summary_json.write_text(json.dumps(summary.to_json(), indent=2))
    if serve_after:
        _serve_demo(settings)


def _print_demo(summary: Any, seconds: float) -> None:
    data = summary.to_json()
    table = Table(
        "what",
        "count",
        title=f"Juncture demo: seed {data['seed']}, "
        f"{data['customers']} customers, {data['days']} days ({seconds:.1f} s)",
    )
    for key in ("messages_sent", "stored", "duplicates", "rejected"):
        table.add_row(key.replace("_", " "), f"{data[key]:,}")
    truth = data["simulation"]
    table.add_row("purchases (simulated)", f"{truth['purchases']:,}")
    table.add_row("revenue (simulated, USD)", f"{truth['revenue_usd']:,.2f}")
    table.add_row("carts abandoned", f"{truth['abandonments']:,}")
    for reason, count in sorted(truth["abandonment_reasons"].items()):
        table.add_row(f"  abandoned for {reason}", f"{count:,}")
    store = data["store"]
    table.add_row("events stored (with derived)", f"{store['events']:,}")
    table.add_row("profiles", f"{store['profiles']:,}")
    table.add_row("profiles merged into others", f"{store['merged_profiles']:,}")
    table.add_row("identity links refused", f"{store['identity_conflicts']:,}")
    table.add_row("timers pending", f"{store['timers_pending']:,}")
    out.print(table)
    side = Table("signal", "count", title="Real-time signals")
    for name, count in store["signals"].items():
        side.add_row(name, f"{count:,}")
    out.print(side)
    stages = Table("journey stage", "profiles", title="Where customers stand")
    for name, count in sorted(store["stages"].items(), key=lambda kv: -kv[1]):
        stages.add_row(name, f"{count:,}")
    out.print(stages)
    _print_journeys(data["journeys"])


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:+.1f} pt"


def _print_journeys(report: dict[str, Any]) -> None:
    counts = Table("what", "count", title="Journeys: messages, suppressions, orders")
    for channel, count in report["messages_by_channel"].items():
        counts.add_row(f"messages on {channel}", f"{count:,}")
    for reason, count in report["suppressions_by_reason"].items():
        counts.add_row(Text(f"  suppressed: {reason}"), f"{count:,}")
    counts.add_row("orders stored", f"{report['orders']:,}")
    for currency, revenue in report["revenue"].items():
        counts.add_row(f"  revenue ({currency})", f"{revenue:,.2f}")
    out.print(counts)
    lifts = Table(title="Each journey against its holdout (conversion: an order after entering)")
    lifts.add_column("journey", no_wrap=True)
    for name in ("profiles (holdout)", "converted", "holdout converted", "lift", "95% CI"):
        lifts.add_column(name)
    for journey, row in report["lift"].items():
        t, h = row["treatment"], row["holdout"]
        ci = (
            "no holdout"
            if row["ci95_low"] is None
            else f"{_pct(row['ci95_low'])} .. {_pct(row['ci95_high'])}"
        )
        lifts.add_row(
            journey,
            f"{t['profiles']:,} ({h['profiles']:,})",
            f"{t['converted']:,} ({row['treatment_rate'] * 100:.1f}%)",
            f"{h['converted']:,} ({row['holdout_rate'] * 100:.1f}%)",
            _pct(row["lift"]),
            ci,
        )
    out.print(lifts)


def _serve_demo(settings: Settings) -> None:
    import uvicorn

    url = f"http://{settings.host}:{settings.port}"
    out.print(f"""
Serving the demo store at {url} (Ctrl-C to stop). Try:
  curl -s -H 'Authorization: Bearer {DEMO_ADMIN_TOKEN}' '{url}/v1/events?anonymousId=...'
  curl -s -u {DEMO_WRITE_KEY}: {url}/v1/track -d '{{"userId":"me","event":"Product Viewed"}}'
  {url}/docs  (the API),  {url}/metrics  (Prometheus)
""")
    juncture = wiring.build(settings)
    try:
        uvicorn.run(
            juncture.app(),
            host=settings.host,
            port=settings.port,
            access_log=False,
            log_config=None,
            loop="uvloop",
            http="httptools",
        )
    finally:
        juncture.close()


def main() -> None:
    """The ``juncture`` command. A bad ``JUNCTURE_*`` value or flag ends it with status 2 and
    one line naming it, rather than a traceback."""
    try:
        app()
    except InvalidSettings as exc:
        for line in exc.message.splitlines():
            console.print(f"juncture: {line}", markup=False, highlight=False, soft_wrap=True)
        raise SystemExit(2) from None
