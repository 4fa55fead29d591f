"""``juncture bench``: the yardstick. Each sub-benchmark prints its figure, the raw limit
measured in the same run and the ratio, and writes JSON so that runs can be compared."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

out = Console()


def _write(output: Path, results: dict[str, Any]) -> None:
    """The result as JSON, for comparing runs."""
    output.write_text(json.dumps(results, indent=2))
    out.print(f"written to {output}")


bench_app = typer.Typer(no_args_is_help=True, help="The yardstick: figures against raw limits.")


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
            help="--no-engine: ingest only; by default ingest only, the engine behind the log "
            "and the engine inline",
        ),
    ] = True,
) -> None:
    """Events/s over HTTP (batches of 100, durable before 200): ingest only, with the engine
    behind the log (its rate and lag too) and inline, against raw inserts of the same rows."""
    from juncture.bench import ingest

    results = ingest.run(
        events=events,
        concurrency=concurrency,
        postgres_url=postgres_url,
        echo=typer.echo,
        modes=("ingest_only", "engine_behind", "engine") if engine else ("ingest_only",),
    )
    _write(output, results)


JsonOut = Annotated[Path, typer.Option("--json-out", help="Where to write the JSON result")]


@bench_app.command("engine")
def bench_engine(
    events: Annotated[int, typer.Option(help="Events to append")] = 50_000,
    commit_events: Annotated[int, typer.Option(help="Events per commit")] = 2000,
    shoppers: Annotated[
        int | None,
        typer.Option(help="Distinct visitors (default: one per 20 events; few: long histories)"),
    ] = None,
    breakdown: Annotated[
        bool, typer.Option(help="Also time each kind of SQL the writer runs, per event")
    ] = False,
    customers: Annotated[
        int,
        typer.Option(
            min=0,
            help="The engine's own CPU per event, SQL and Python apart: simulated shoppers "
            "whose log the engine applies behind ingestion (0: not measured)",
        ),
    ] = 1000,
    days: Annotated[int, typer.Option(min=1, help="Simulated days of those shoppers")] = 14,
    output: JsonOut = Path("bench-engine.json"),
) -> None:
    """Events/s through the engine in process (no HTTP), with and without the engine,
    against raw inserts of the same rows; then the engine's own CPU per event on the
    simulated retailer's log (SQL and Python apart), with the shipped journeys, and with
    the shipped segments too."""
    from juncture.bench import engine, engine_cost

    results = engine.run_engine(
        events=events,
        commit_events=commit_events,
        shoppers=shoppers,
        breakdown=breakdown,
        echo=typer.echo,
    )
    if customers:
        results["cost"] = engine_cost.run_cost(customers=customers, days=days, echo=typer.echo)
    _write(output, results)


@bench_app.command("timers")
def bench_timers(
    timers: Annotated[int, typer.Option(help="Cart-abandonment timers to fire")] = 20_000,
    max_seconds: Annotated[float, typer.Option(help="Stop firing after this long")] = 60.0,
    output: JsonOut = Path("bench-timers.json"),
) -> None:
    """Timers fired per second in event time, against the raw SQL of firing them."""
    from juncture.bench import engine

    results = engine.run_timers(timers=timers, max_seconds=max_seconds, echo=typer.echo)
    _write(output, results)


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
    _write(output, results)


@bench_app.command("catalog")
def bench_catalog(
    products: Annotated[int, typer.Option(help="Products in the feed")] = 100_000,
    events: Annotated[
        float,
        typer.Option(min=0, help="Events/s into a server while the feed imports again (0: no)"),
    ] = 500.0,
    chunk: Annotated[
        int | None, typer.Option(min=1, help="Rows to a transaction in the import")
    ] = None,
    postgres_url: Annotated[
        str | None, typer.Option(help="Also on new databases of this PostgreSQL server")
    ] = None,
    output: JsonOut = Path("bench-catalog.json"),
) -> None:
    """Importing a Merchant Center product feed (and the same feed again), rows/s against
    the raw insert of the same rows; then the import again while events flow in, with the
    ingestion's rate and latency quiet and during it. SQLite, and PostgreSQL if given."""
    from juncture.bench import catalog
    from juncture.runtime.catalog_import import BATCH

    found = catalog.run(
        products=products,
        echo=typer.echo,
        event_rate=events,
        chunk=chunk or BATCH,
        postgres_url=postgres_url,
    )
    _write(output, found)


@bench_app.command("decide")
def bench_decide(
    visitors: Annotated[int, typer.Option(help="Known visitors (half with a cart)")] = 2000,
    requests: Annotated[int, typer.Option(help="Decisions to ask for")] = 10_000,
    concurrency: Annotated[int, typer.Option(help="Concurrent HTTP connections")] = 8,
    rate: Annotated[float, typer.Option(help="Paced load, decisions per second")] = 1000.0,
    products: Annotated[int, typer.Option(help="Products in the catalogue")] = 2000,
    output: JsonOut = Path("bench-decide.json"),
) -> None:
    """Decisions/s and latency of POST /v1/decide (the rule-based placement and every
    touchpoint in turn) under a bounded loopback load, closed loop and paced, against the
    HTTP floor (GET /healthz) on the same server."""
    from juncture.bench import decide

    results = decide.run(
        visitors=visitors, requests=requests, concurrency=concurrency, rate=rate,
        products=products, echo=typer.echo,
    )  # fmt: skip
    _write(output, results)


@bench_app.command("recs")
def bench_recs(
    customers: Annotated[int, typer.Option(help="Simulated shoppers (the demo's 2,000)")] = 2000,
    days: Annotated[int, typer.Option(help="Simulated days")] = 21,
    requests: Annotated[int, typer.Option(help="Recommendations to ask for")] = 6000,
    concurrency: Annotated[int, typer.Option(help="Concurrent HTTP connections")] = 8,
    rate: Annotated[float, typer.Option(help="Paced load, requests per second")] = 1000.0,
    interactions: Annotated[
        int, typer.Option(help="Synthetic interactions to train on in process (0: skip)")
    ] = 1_000_000,
    output: JsonOut = Path("bench-recs.json"),
) -> None:
    """GET /v1/recommendations latency (closed loop and paced) against the HTTP floor of the
    same server, training time and memory on the demo's data and at scale."""
    from juncture.bench import recs

    results = recs.run(customers=customers, days=days, requests=requests,
                       concurrency=concurrency, rate=rate, interactions=interactions,
                       echo=typer.echo)  # fmt: skip
    _write(output, results)


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
    _write(output, results)


@bench_app.command("measure")
def bench_measure(
    database_url: Annotated[
        str, typer.Option(help="The database to measure (the demo's: run `juncture demo` first)")
    ] = "sqlite:///juncture-demo.db",
    repeats: Annotated[int, typer.Option(min=1, help="Runs of each; the best counts")] = 3,
    output: Annotated[Path, typer.Option("--json-out", "--output", help="JSON result")] = Path(
        "bench-measure.json"
    ),
    synthetic_events: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="First fill the (new, empty) database with this many "
            "synthetic events (views, adds, orders), a profile per ten",
        ),
    ] = None,
) -> None:
    """Every KPI report, a funnel, the paths and the touchpoint map over a database, against
    a raw scan."""
    from juncture.bench import measure

    filled = None
    if synthetic_events is not None:
        filled = measure.fill(database_url, synthetic_events, typer.echo)
    elif database_url.startswith("sqlite:///") and not Path(database_url[10:]).exists():
        raise typer.BadParameter(f"{database_url[10:]} does not exist: run `juncture demo` first")
    _write(output, {**measure.run(database_url, repeats, typer.echo), "fill_seconds": filled})


@bench_app.command("dashboard")
def bench_dashboard(
    database_url: Annotated[
        str, typer.Option(help="The demo's database (run `juncture demo --no-serve` first)")
    ] = "sqlite:///juncture-demo.db",
    profiles: Annotated[int, typer.Option(help="Synthetic profiles (0: skip)")] = 1_000_000,
    events: Annotated[int, typer.Option(help="Synthetic events over two weeks")] = 2_000_000,
    repeat: Annotated[int, typer.Option(min=1, help="Times each page is asked")] = 5,
    output: JsonOut = Path("bench-dashboard.json"),
) -> None:
    """Server time of the dashboard's heaviest pages on the demo's database and on N
    synthetic profiles, against GET /healthz on the same server."""
    from juncture.bench import dashboard

    demo: str | None = database_url
    if database_url.startswith("sqlite:///") and not Path(database_url[10:]).exists():
        typer.echo(f"{database_url[10:]} does not exist (`juncture demo --no-serve` makes it)")
        demo = None
    results = dashboard.run(
        demo_url=demo, profiles=profiles, events=events, repeat=repeat, echo=typer.echo
    )
    _write(output, results)


@bench_app.command("scale")
def bench_scale(
    postgres_url: Annotated[
        str, typer.Option(help="PostgreSQL server (a scratch database is created per run)")
    ],
    log_url: Annotated[str, typer.Option(help="The log the workers read")] = (
        "nats://127.0.0.1:4222"
    ),
    compare: Annotated[
        list[str] | None, typer.Option(help="Logs whose appends are measured (repeatable)")
    ] = None,
    events: Annotated[int, typer.Option(help="Events per run")] = 20_000,
    workers: Annotated[str, typer.Option(help="Worker counts, comma-separated")] = "1,2,4",
    partitions: Annotated[int, typer.Option(help="Partitions of the log")] = 16,
    merge_share: Annotated[
        float,
        typer.Option(
            min=0.0,
            max=0.5,
            help="Share of the events that are sign-ins (Segment identify); a customer's "
            "second device merges two persons",
        ),
    ] = 0.05,
    output: JsonOut = Path("bench-scale.json"),
) -> None:
    """Appends to NATS JetStream and Redis Streams, then 1, 2 and 4 `juncture worker`s on
    PostgreSQL: events/s, CPU per event (workers and PostgreSQL) and lag, with shoppers
    signing in and merging across partitions; then a merge's cost against a view's."""
    from juncture.bench import scale

    results = scale.run(
        events=events,
        postgres_url=postgres_url,
        log_url=log_url,
        compare=compare or ["nats://127.0.0.1:4222", "redis://127.0.0.1:6379/0"],
        workers=[int(w) for w in workers.split(",") if w.strip()],
        partitions=partitions,
        echo=typer.echo,
        identify_share=merge_share,
    )
    _write(output, results)
    for failure in results["failures"]:
        typer.echo(f"bench scale: wrong: {failure}", err=True)
    if results["failures"]:
        raise typer.Exit(1)
