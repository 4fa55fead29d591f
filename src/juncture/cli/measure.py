"""``juncture measure ...``: journey KPIs, experiments with their decisions, lifetime value
and experiment plans from the command line, as tables, JSON or CSV."""

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

from juncture.cli.options import DatabaseUrl
from juncture.core.measures import KpiReport, Period

if TYPE_CHECKING:
    from juncture.runtime.measurement import Measurement
    from juncture.store.funnels import Step

measure_app = typer.Typer(
    no_args_is_help=True, help="Measurement: journey KPIs, experiments, lifetime value."
)
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


@contextmanager
def _measurement(database_url: str | None) -> Iterator[Measurement]:
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


def _now() -> dt.datetime:
    from juncture.runtime.clock import SystemClock

    return SystemClock().now()


def _emit(text: str, output: Path | None) -> None:
    if output is None:
        typer.echo(text, nl=bool(text) and not text.endswith("\n"))
    else:
        output.write_text(text, encoding="utf-8")
        err.print(f"written to {output}")


def _json(data: Any) -> str:
    return json.dumps(data, indent=2, default=str) + "\n"


@measure_app.command("journeys")
def journeys(
    journey: Journey = None,
    window_days: Window = 7,
    fmt: FormatOption = Format.table,
    output: Output = None,
    database_url: DatabaseUrl = None,
) -> None:
    """KPIs per journey and arm: profiles, goal and order conversion, orders, revenue, AOV,
    incremental conversions and revenue against the holdout, messages by status."""
    from juncture.runtime.measurement import to_csv

    with _measurement(database_url) as m:
        found = m.report(_now(), journey_id=journey, window=dt.timedelta(days=window_days))
    if fmt is Format.json:
        _emit(_json([k.to_json() for k in found.kpis.values()]), output)
    elif fmt is Format.csv:
        _emit(to_csv(found.kpi_rows()), output)
    else:
        _kpi_table(found.kpi_rows())


def _kpi_table(rows: list[dict[str, Any]]) -> None:
    from rich.table import Table

    table = Table("journey", "arm", "profiles", "goal", "converted", "orders", "revenue", "AOV")
    for r in rows:
        table.add_row(
            r["journey_id"], r["arm"], f"{r['profiles']:,}", _pct(r["goal_rate"]),
            _pct(r["conversion_rate"]), f"{r['orders']:,}", f"{r['revenue']:,.2f}",
            "-" if r["aov"] is None else f"{r['aov']:,.2f}",
        )  # fmt: skip
    out.print(table)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


@measure_app.command("experiments")
def experiments(
    journey: Journey = None,
    window_days: Window = 7,
    smallest_lift: Lift = 0.1,
    fmt: FormatOption = Format.table,
    output: Output = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Every holdout and split as an experiment, with the decision to take and why."""
    from juncture.runtime.measurement import to_csv

    with _measurement(database_url) as m:
        found = m.report(
            _now(), journey_id=journey, window=dt.timedelta(days=window_days),
            smallest_lift=smallest_lift,
        )  # fmt: skip
    if fmt is Format.json:
        _emit(_json([r.to_json() for r in found.experiments]), output)
    elif fmt is Format.csv:
        _emit(to_csv(found.experiment_rows()), output)
    else:
        for r in found.experiments:
            arms = ", ".join(
                f"{a.name} {a.converted:,}/{a.profiles:,} ({_pct(a.rate)})"
                for a in (r.control, *r.arms)
            )
            out.print(f"[bold]{r.experiment}[/bold]: {arms}", highlight=False)
            out.print(f"  {r.decision.action}: {r.decision.why}", highlight=False)


When = Annotated[
    dt.datetime | None,
    typer.Option(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"], help="UTC day or time"),
]


@measure_app.command("kpis")
def kpi_report(
    report: Annotated[KpiReport, typer.Argument(help="Which report")],
    period: Annotated[Period, typer.Option(help="Group by day, week, month or all")] = Period.all,
    since: When = None,
    until: When = None,
    segment: Annotated[str | None, typer.Option(help="Current members only")] = None,
    journey: Journey = None,
    window_days: Window = 7,
    fmt: FormatOption = Format.table,
    output: Output = None,
    database_url: DatabaseUrl = None,
) -> None:
    """One KPI report: commerce, carts, customers, retention, stages, stage-moves, journeys,
    attribution or messages (docs/measurement.md lists each one's columns)."""
    from juncture.store.kpis import KpiQuery

    first, last = _span(since, until)
    query = KpiQuery(
        since=first, until=last, period=period, segment=segment, journey=journey,
        window=dt.timedelta(days=window_days),
    )  # fmt: skip
    with _measurement(database_url) as m:
        rows = m.kpis(report, query)
    _rows_out(rows, fmt, output)


def _rows_out(rows: list[dict[str, Any]], fmt: Format, output: Path | None) -> None:
    from juncture.runtime.measurement import to_csv

    if fmt is Format.json:
        _emit(_json(rows), output)
    elif fmt is Format.csv:
        _emit(to_csv(rows), output)
    else:
        _table(rows)


def _span(
    since: dt.datetime | None, until: dt.datetime | None
) -> tuple[dt.datetime | None, dt.datetime | None]:
    first, last = (t.replace(tzinfo=dt.UTC) if t is not None else None for t in (since, until))
    if first and last and first >= last:
        raise typer.BadParameter("--since must come before --until")
    return first, last


Segment = Annotated[str | None, typer.Option(help="Current members only")]


@measure_app.command("funnel")
def funnel(
    steps: Annotated[
        list[str],
        typer.Argument(help="Steps in order: an event name, or 'Event:key=value,key=value'"),
    ],
    since: When = None,
    until: When = None,
    segment: Segment = None,
    window_days: Annotated[
        int, typer.Option("--window-days", help="Every step within this many days of the first")
    ] = 7,
    fmt: FormatOption = Format.table,
    output: Output = None,
    database_url: DatabaseUrl = None,
) -> None:
    """An ordered funnel of events: profiles per step, conversion, drop-off and the median
    days from the step before."""
    from juncture.store.kpis import KpiQuery

    parsed = [_step(text) for text in steps]
    first, last = _span(since, until)
    query = KpiQuery(since=first, until=last, segment=segment,
                     window=dt.timedelta(days=window_days))  # fmt: skip
    with _measurement(database_url) as m:
        rows = m.funnel(parsed, query)
    _rows_out(rows, fmt, output)


def _step(text: str) -> Step:
    from juncture.store.funnels import Step

    event, _, conditions = text.partition(":")
    where: dict[str, str | float] = {}
    for pair in filter(None, conditions.split(",")):
        key, equals, value = pair.partition("=")
        if not equals or not key.strip() or not event.strip():
            raise typer.BadParameter(f"{text!r}: write a step as 'Event' or 'Event:key=value'")
        where[key.strip()] = _number_or_text(value.strip())
    return Step(event.strip(), where)


def _number_or_text(value: str) -> str | float:
    try:
        return float(value)
    except ValueError:
        return value


@measure_app.command("paths")
def paths(
    start: Annotated[str, typer.Argument(help="The event paths start from")],
    end: Annotated[str | None, typer.Option("--to", help="The event paths lead to")] = None,
    max_steps: Annotated[int, typer.Option("--max-steps", min=1, max=10)] = 5,
    min_profiles: Annotated[
        int, typer.Option("--min-profiles", min=1, help="Rarer events at a step are (other)")
    ] = 1,
    since: When = None,
    until: When = None,
    segment: Segment = None,
    window_days: Window = 7,
    fmt: FormatOption = Format.table,
    output: Output = None,
    database_url: DatabaseUrl = None,
) -> None:
    """What profiles did after an event (up to another): the paths, most common first, and
    the Sankey nodes and links (json)."""
    from juncture.runtime.measurement import to_csv
    from juncture.store.kpis import KpiQuery

    first, last = _span(since, until)
    query = KpiQuery(since=first, until=last, segment=segment,
                     window=dt.timedelta(days=window_days))  # fmt: skip
    with _measurement(database_url) as m:
        found = m.paths(start, end, query, max_steps=max_steps, min_profiles=min_profiles)
    rows = [{**p, "steps": " > ".join(p["steps"]) or "-"} for p in found["paths"]]
    if fmt is Format.json:
        _emit(_json(found), output)
    elif fmt is Format.csv:
        _emit(to_csv(rows), output)
    else:
        out.print(f"{found['profiles']:,} profiles from {start}", highlight=False, markup=False)
        for r in rows:
            mark = " (reached)" if r["reached"] else ""
            out.print(f"{r['profiles']:>8,}  {r['steps']}{mark}", highlight=False, markup=False)


def _table(rows: list[dict[str, Any]]) -> None:
    """One column per row and a line per figure: the reports have more figures than a
    terminal has room for side by side."""
    from rich.table import Table

    from juncture.runtime.measurement import flat

    rows = flat(rows)
    names = list(dict.fromkeys(k for row in rows for k in row))
    table = Table("", *(str(i + 1) for i in range(len(rows))))
    for n in names:
        table.add_row(n, *(_cell(row.get(n)) for row in rows))
    out.print(table)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    return f"{value:,.4g}" if isinstance(value, float) else str(value)


@measure_app.command("dry-run")
def dry_run(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A draft journey")],
    since: Annotated[
        str, typer.Option("--since", help="How far back to run: 30d, 2w, 12h, ...")
    ] = "30d",
    window_days: Window = 7,
    output: Output = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Run a draft journey over the recorded events since then without sending: who would
    have entered, been messaged or suppressed (by reason), per day and node (JSON). Also
    ``juncture journeys dry-run``."""
    from juncture.definitions.journeys import InvalidJourney
    from juncture.definitions.reader import parse_duration

    try:
        back = parse_duration(since)
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--since") from exc
    now = _now()
    with _measurement(database_url) as m:
        try:
            found = m.dry_run(
                file.read_text(encoding="utf-8"), str(file), since=now - back, now=now,
                window=dt.timedelta(days=window_days),
            )  # fmt: skip
        except InvalidJourney as exc:
            for p in exc.problems:
                typer.echo(f"{p.where}: {p.message}", err=True)
            raise typer.Exit(1) from exc
    _emit(_json(found), output)


@measure_app.command("clv")
def lifetime_value(
    horizon_days: Annotated[float, typer.Option(help="Predict over this many days")] = 365.0,
    discount: Annotated[float, typer.Option(help="Discount rate per 30 days")] = 0.0,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Fit and predict, write no trait")
    ] = False,
    output: Output = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Fit BG/NBD and Gamma-Gamma to every customer's orders and write each one's ``clv``
    trait (predicted value, probability alive, ...); prints the model as JSON."""
    from juncture.runtime.measurement import clv_summary

    with _measurement(database_url) as m:
        scores = m.clv(_now(), horizon_days, discount, write=not dry_run)
    summary = clv_summary(scores)
    summary["written"] = 0 if dry_run else len(scores.profile_ids)
    _emit(_json(summary), output)


@measure_app.command("plan")
def plan(
    baseline: Annotated[float, typer.Option(help="The control's conversion rate (0.05: 5%)")],
    lift: Annotated[float, typer.Option(help="Relative lift to find (0.1: 10% more)")] = 0.1,
    power: Annotated[float, typer.Option(help="Chance to find it if it is there")] = 0.8,
    alpha: Annotated[float, typer.Option(help="False-positive rate")] = 0.05,
    ratio: Annotated[
        float, typer.Option(help="Treatment profiles per control profile (9 for a 10% holdout)")
    ] = 1.0,
    per_day: Annotated[
        float | None, typer.Option(help="Profiles entering the experiment a day")
    ] = None,
) -> None:
    """The profiles per arm (and days) an experiment needs."""
    from juncture.runtime.measurement import plan as make_plan

    if not 0 < baseline < 1 or not 0 < baseline * (1 + lift) < 1 or lift == 0:
        raise typer.BadParameter("baseline and baseline * (1 + lift) must lie between 0 and 1")
    typer.echo(_json(make_plan(baseline, lift, power=power, alpha=alpha, ratio=ratio,
                               per_day=per_day)), nl=False)  # fmt: skip
