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

if TYPE_CHECKING:
    from juncture.runtime.measurement import Measurement

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
    store = wiring.open_store(load_settings(**flags))
    writer = store.writer()
    try:
        yield Measurement(
            store.journeys, store.journey_measures, store.customer_orders,
            lambda process: commit(writer, [], [], process),
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
