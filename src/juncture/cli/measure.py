"""``juncture measure ...``: journey KPIs, experiments with their decisions, lifetime value,
experiment plans and dry runs from the command line, as tables, JSON or CSV; the KPI
reports, funnels and paths are in :mod:`juncture.cli.measure_reports`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer

from juncture.cli import measure_io as io
from juncture.cli import measure_reports as reports
from juncture.cli.options import DatabaseUrl

measure_app = typer.Typer(
    no_args_is_help=True,
    help="Measurement: journey KPIs, experiments, lifetime value, funnels, paths, touchpoints.",
)
measure_app.command("kpis")(reports.kpi_report)
measure_app.command("funnel")(reports.funnel)
measure_app.command("paths")(reports.paths)
measure_app.command("touchpoints")(reports.touchpoints)


@measure_app.command("journeys")
def journeys(
    journey: io.Journey = None,
    window_days: io.Window = 7,
    fmt: io.FormatOption = io.Format.table,
    output: io.Output = None,
    database_url: DatabaseUrl = None,
) -> None:
    """KPIs per journey and arm: profiles, goal and order conversion, orders, revenue, AOV,
    incremental conversions and revenue against the holdout, messages by status."""
    from juncture.runtime.measurement import to_csv

    with io.measurement(database_url) as m:
        found = m.report(io.now(), journey_id=journey, window=dt.timedelta(days=window_days))
    if fmt is io.Format.json:
        io.emit(io.as_json([k.to_json() for k in found.kpis.values()]), output)
    elif fmt is io.Format.csv:
        io.emit(to_csv(found.kpi_rows()), output)
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
    io.out.print(table)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.2f}%"


@measure_app.command("experiments")
def experiments(
    journey: io.Journey = None,
    window_days: io.Window = 7,
    smallest_lift: io.Lift = 0.1,
    fmt: io.FormatOption = io.Format.table,
    output: io.Output = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Every holdout and split as an experiment, with the decision to take and why."""
    from juncture.runtime.measurement import to_csv

    with io.measurement(database_url) as m:
        found = m.report(
            io.now(), journey_id=journey, window=dt.timedelta(days=window_days),
            smallest_lift=smallest_lift,
        )  # fmt: skip
    if fmt is io.Format.json:
        io.emit(io.as_json([r.to_json() for r in found.experiments]), output)
    elif fmt is io.Format.csv:
        io.emit(to_csv(found.experiment_rows()), output)
    else:
        for r in found.experiments:
            arms = ", ".join(
                f"{a.name} {a.converted:,}/{a.profiles:,} ({_pct(a.rate)})"
                for a in (r.control, *r.arms)
            )
            io.out.print(f"[bold]{r.experiment}[/bold]: {arms}", highlight=False)
            io.out.print(f"  {r.decision.action}: {r.decision.why}", highlight=False)


@measure_app.command("dry-run")
def dry_run(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="A draft journey")],
    since: Annotated[
        str, typer.Option("--since", help="How far back to run: 30d, 2w, 12h, ...")
    ] = "30d",
    window_days: io.Window = 7,
    output: io.Output = None,
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
    now = io.now()
    with io.measurement(database_url) as m:
        try:
            found = m.dry_run(
                file.read_text(encoding="utf-8"), str(file), since=now - back, now=now,
                window=dt.timedelta(days=window_days),
            )  # fmt: skip
        except InvalidJourney as exc:
            for p in exc.problems:
                typer.echo(f"{p.where}: {p.message}", err=True)
            raise typer.Exit(1) from exc
    io.emit(io.as_json(found), output)


@measure_app.command("clv")
def lifetime_value(
    horizon_days: Annotated[float, typer.Option(help="Predict over this many days")] = 365.0,
    discount: Annotated[float, typer.Option(help="Discount rate per 30 days")] = 0.0,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Fit and predict, write no trait")
    ] = False,
    output: io.Output = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Fit BG/NBD and Gamma-Gamma to every customer's orders and write each one's ``clv``
    trait (predicted value, probability alive, ...); prints the model as JSON."""
    from juncture.runtime.measurement import clv_summary

    with io.measurement(database_url) as m:
        scores = m.clv(io.now(), horizon_days, discount, write=not dry_run)
    summary = clv_summary(scores)
    summary["written"] = 0 if dry_run else len(scores.profile_ids)
    io.emit(io.as_json(summary), output)


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
    typer.echo(io.as_json(make_plan(baseline, lift, power=power, alpha=alpha, ratio=ratio,
                               per_day=per_day)), nl=False)  # fmt: skip
