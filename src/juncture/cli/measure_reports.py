"""``juncture measure kpis``, ``funnel`` and ``paths``: the KPI reports, funnels and paths
over the stored events, as tables, JSON or CSV (registered on ``juncture measure`` by
:mod:`juncture.cli.measure`)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated, Any

import typer

from juncture.cli import measure_io as io
from juncture.cli.options import DatabaseUrl
from juncture.core.measures import Breakdown, KpiReport, Period

if TYPE_CHECKING:
    from juncture.store.funnels import Step


def kpi_report(
    report: Annotated[KpiReport, typer.Argument(help="Which report")],
    period: Annotated[Period, typer.Option(help="Group by day, week, month or all")] = Period.all,
    since: io.When = None,
    until: io.When = None,
    segment: Annotated[str | None, typer.Option(help="Current members only")] = None,
    journey: io.Journey = None,
    window_days: io.Window = 7,
    by: Annotated[
        Breakdown, typer.Option(help="surveys: per segment, journey (and arm) or store")
    ] = Breakdown.all,
    fmt: io.FormatOption = io.Format.table,
    output: io.Output = None,
    database_url: DatabaseUrl = None,
) -> None:
    """One KPI report: commerce, carts, customers, retention, stages, stage-moves, journeys,
    attribution, messages, surveys or follow-up (docs/measurement.md lists each one's
    columns)."""
    from juncture.store.kpis import KpiQuery

    first, last = io.span(since, until)
    query = KpiQuery(
        since=first, until=last, period=period, segment=segment, journey=journey,
        window=dt.timedelta(days=window_days), by=by,
    )  # fmt: skip
    with io.measurement(database_url) as m:
        rows = m.kpis(report, query)
    io.rows_out(rows, fmt, output)


def funnel(
    steps: Annotated[
        list[str],
        typer.Argument(help="Steps in order: an event name, or 'Event:key=value,key=value'"),
    ],
    since: io.When = None,
    until: io.When = None,
    segment: io.Segment = None,
    window_days: Annotated[
        int, typer.Option("--window-days", help="Every step within this many days of the first")
    ] = 7,
    period: Annotated[
        Period, typer.Option(help="A funnel per day, week or month of entry")
    ] = Period.all,
    per_segment: Annotated[
        list[str] | None, typer.Option("--per-segment", help="A funnel per segment (repeat)")
    ] = None,
    fmt: io.FormatOption = io.Format.table,
    output: io.Output = None,
    database_url: DatabaseUrl = None,
) -> None:
    """An ordered funnel of events: profiles per step, conversion, drop-off and the median
    days from the step before; per period of entry and per segment if asked."""
    from juncture.store.kpis import KpiQuery

    parsed = [_step(text) for text in steps]
    first, last = io.span(since, until)
    query = KpiQuery(since=first, until=last, segment=segment, period=period,
                     window=dt.timedelta(days=window_days))  # fmt: skip
    with io.measurement(database_url) as m:
        rows = m.funnel(parsed, query, per_segment or ())
    io.rows_out(rows, fmt, output)


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


def paths(
    start: Annotated[str, typer.Argument(help="The event paths start from")],
    end: Annotated[str | None, typer.Option("--to", help="The event paths lead to")] = None,
    max_steps: Annotated[int, typer.Option("--max-steps", min=1, max=10)] = 5,
    min_profiles: Annotated[
        int, typer.Option("--min-profiles", min=1, help="Rarer events at a step are (other)")
    ] = 1,
    since: io.When = None,
    until: io.When = None,
    segment: io.Segment = None,
    window_days: io.Window = 7,
    fmt: io.FormatOption = io.Format.table,
    output: io.Output = None,
    database_url: DatabaseUrl = None,
) -> None:
    """What profiles did after an event (up to another): the paths, most common first, and
    the Sankey nodes and links (json)."""
    from juncture.runtime.measurement import to_csv
    from juncture.store.kpis import KpiQuery

    first, last = io.span(since, until)
    query = KpiQuery(since=first, until=last, segment=segment,
                     window=dt.timedelta(days=window_days))  # fmt: skip
    with io.measurement(database_url) as m:
        found = m.paths(start, end, query, max_steps=max_steps, min_profiles=min_profiles)
    rows = [{**p, "steps": " > ".join(p["steps"]) or "-"} for p in found["paths"]]
    if fmt is io.Format.json:
        io.emit(io.as_json(found), output)
    elif fmt is io.Format.csv:
        io.emit(to_csv(rows), output)
    else:
        io.out.print(f"{found['profiles']:,} profiles from {start}", highlight=False, markup=False)
        for r in rows:
            mark = " (reached)" if r["reached"] else ""
            io.out.print(f"{r['profiles']:>8,}  {r['steps']}{mark}", highlight=False, markup=False)


def touchpoints(
    profile: Annotated[
        str | None, typer.Option("--profile", help="One person's touches, in order")
    ] = None,
    since: io.When = None,
    until: io.When = None,
    segment: io.Segment = None,
    fmt: io.FormatOption = io.Format.table,
    output: io.Output = None,
    database_url: DatabaseUrl = None,
) -> None:
    """The touchpoint map: per stage, the channels and touchpoints customers met (profiles,
    touches, first in the stage); with --profile, that person's touches in order, each with
    the stage they stood in."""
    from juncture.store.kpis import KpiQuery

    first, last = io.span(since, until)
    with io.measurement(database_url) as m:
        rows = m.touchpoints(KpiQuery(since=first, until=last, segment=segment), profile)
    if fmt is io.Format.table:
        _touch_table(rows, person=profile is not None)
    else:
        io.rows_out(rows, fmt, output)


def _touch_table(rows: list[dict[str, Any]], *, person: bool) -> None:
    from rich.table import Table

    if person:
        names = ("at", "stage", "channel", "touchpoint", "journey_id", "count")
    else:
        names = ("stage", "channel", "touchpoint", "profiles", "touches", "first")
    shown = Table(*names)
    for row in rows:
        shown.add_row(*("-" if row[n] is None else str(row[n]) for n in names))
    io.out.print(shown)
