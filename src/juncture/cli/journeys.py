"""``juncture journeys ...``: validate, apply and administer journey journey_definitions.

``validate`` and ``apply`` take files and directories (``*.yaml``, ``*.yml``, ``*.json``).
Every file is validated before anything is applied: one bad file applies none, and each
problem is printed as ``file:line: path: message`` with exit status 1.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console

from juncture.cli import measure
from juncture.cli.options import DatabaseUrl

if TYPE_CHECKING:
    from juncture.definitions.journeys import InvalidJourney
    from juncture.store.journey_stats import JourneyStats
    from juncture.store.journeys import Journey, JourneyStore

journeys_app = typer.Typer(no_args_is_help=True, help="Journey definitions and their stats.")
out = Console()
SUFFIXES = (".yaml", ".yml", ".json")

Paths = Annotated[
    list[Path] | None, typer.Argument(help="Definition files, or directories of them")
]


@contextmanager
def opened(database_url: str | None) -> Iterator[JourneyStore]:
    """A JourneyStore on the configured database; store errors end the command with 1."""
    from juncture import wiring
    from juncture.errors import JunctureError
    from juncture.settings import load as load_settings

    flags: dict[str, Any] = {"database_url": database_url} if database_url else {}
    settings = load_settings(**flags)
    store = wiring.open_store(settings)
    try:
        yield store.journeys
    except JunctureError as exc:
        typer.echo(exc.message, err=True)
        raise typer.Exit(1) from exc
    finally:
        store.close()


def files_in(paths: list[Path]) -> list[Path]:
    """The definition files named or found (sorted) in the directories named."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            inside = sorted(p for p in path.iterdir() if p.suffix in SUFFIXES and p.is_file())
            if not inside:
                _fail(f"{path}: no .yaml, .yml or .json files in this directory")
            found.extend(inside)
        elif path.is_file():
            found.append(path)
        else:
            _fail(f"{path}: no such file or directory")
    return found


def _fail(message: str) -> None:
    typer.echo(message, err=True)
    raise typer.Exit(1)


def template_names() -> list[str]:
    """The templates a journey may name: shipped, and the retailer's (``JUNCTURE_TEMPLATES_DIR``,
    where uploads go too)."""
    from juncture import wiring
    from juncture.settings import load as load_settings

    return wiring.templates(load_settings()).names()


def _problems(exc: InvalidJourney) -> None:
    for problem in exc.problems:
        typer.echo(str(problem))


@journeys_app.command("validate")
def validate(paths: Paths = None) -> None:
    """Check definitions without a database: every problem as file:line: path: message."""
    from juncture.definitions import journeys as journey_definitions

    failed, names = False, template_names()
    for path in files_in(paths or []):
        try:
            spec = journey_definitions.loads(path.read_text(encoding="utf-8"), str(path), names)
        except journey_definitions.InvalidJourney as exc:
            _problems(exc)
            failed = True
            continue
        typer.echo(f"{path}: ok ({spec.id}, {len(spec.nodes)} nodes)")
    if failed:
        raise typer.Exit(1)


@journeys_app.command("apply")
def apply(
    paths: Paths = None,
    library: Annotated[
        bool, typer.Option("--library", help="Also install the ready journeys shipped")
    ] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Store changed definitions as new versions; nothing is applied if any file is bad."""
    from juncture.definitions import journeys as journey_definitions
    from juncture.store import journeys as journeys_store

    texts = [(str(p), p.read_text(encoding="utf-8")) for p in files_in(paths or [])]
    if library:
        texts = journeys_store.library() + texts
    if not texts:
        _fail("give definition files or directories, or --library")
    with opened(database_url) as journeys:
        try:
            applied = journeys.apply_all(texts, template_names())
        except journey_definitions.InvalidJourney as exc:
            _problems(exc)
            typer.echo("nothing applied: fix the problems above", err=True)
            raise typer.Exit(1) from exc
    for a in applied:
        what = f"version {a.version} stored" if a.created else f"unchanged (version {a.version})"
        note = "" if a.declared == a.version else f"; the file says version {a.declared}"
        if a.date_timers:
            note += f"; {a.date_timers} date timers set for profiles that already hold the date"
        typer.echo(f"{a.journey_id}: {what}, {a.status}{note}")


@journeys_app.command("list")
def list_(database_url: DatabaseUrl = None) -> None:
    """Every journey with its latest version and status."""
    with opened(database_url) as journeys:
        found = journeys.list()
    width = max((len(j.spec.id) for j in found), default=2)
    for j in found:
        s = j.summary()
        typer.echo(
            f"{s['id']:<{width}}  v{s['version']:<3} {s['status']:<10} "
            f"priority {s['priority']:<4} {s['name']}"
        )


@journeys_app.command("show")
def show(
    journey_id: str,
    version: Annotated[int | None, typer.Option(help="A version (default: the latest)")] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """A journey's versions and statuses, and the definition of one version."""
    with opened(database_url) as journeys:
        found = journeys.show(journey_id, version)
    _print_journey(found)


def _print_journey(found: Journey) -> None:
    s = found.summary()
    typer.echo(f"{s['id']}: {s['name']} (priority {s['priority']}), {s['status']}")
    for v in found.versions:
        at = v.created_at.isoformat(timespec="seconds")
        typer.echo(f"  version {v.version}: {v.status}, from {v.filename}, {at}")
    typer.echo(f"--- version {found.spec.version} ---")
    typer.echo(found.source.rstrip("\n"))


def _status_command(name: str, doc: str) -> None:
    def command(journey_id: str, database_url: DatabaseUrl = None) -> None:
        with opened(database_url) as journeys:
            done: Journey = getattr(journeys, name)(journey_id)
        typer.echo(f"{journey_id}: {done.status} (latest version {done.latest.version})")

    command.__doc__ = doc
    journeys_app.command(name)(command)


_status_command("pause", "Stop new entries; customers already in the journey go on.")
_status_command("resume", "Take new entries again.")
_status_command(
    "archive", "Stop the journey for good: no entries, running enrollments stop where they are."
)


@journeys_app.command("stats")
def stats(
    journey_id: Annotated[str | None, typer.Argument(help="One journey (default: all)")] = None,
    version: Annotated[int | None, typer.Option(help="One version (default: all)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Entered, waiting, exited, goal reached, holdout, sent, suppressed and failed, per node."""
    with opened(database_url) as journeys:
        if journey_id is None:
            found = journeys.all_stats()
        else:
            found = [journeys.stats(journey_id, version)]
    if as_json:
        typer.echo(json.dumps([s.to_json() for s in found], indent=2))
        return
    for s in found:
        _print_stats(s)


def _print_stats(stats: JourneyStats) -> None:
    from rich.table import Table

    data = stats.to_json()
    title = (
        f"{stats.journey_id}{'' if stats.version is None else f' v{stats.version}'}: "
        f"{data['entered']} entered, {data['active']} active, "
        f"{data['goalReached']} reached the goal, {data['holdout']} held out"
    )
    table = Table("node", "entered", "waiting", "exited", "goal", "holdout", "sent",
                  "suppressed", "failed", title=title)  # fmt: skip
    for n in data["nodes"]:
        table.add_row(
            n["node"], str(n["entered"]), str(n["waiting"]), _counts(n["exited"]),
            str(n["goalReached"]), str(n["holdout"]), str(n["sent"]),
            _counts(n["suppressed"]), str(n["failed"]),
        )  # fmt: skip
    out.print(table)


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{k} {v}" for k, v in counts.items()) or "0"


# The dry run lives with measurement (``juncture measure dry-run``); here under the name a
# journey's author looks for.
journeys_app.command("dry-run")(measure.dry_run)
