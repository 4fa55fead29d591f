"""``juncture segments ...``: declared and automatic segments from the command line."""

from __future__ import annotations

import datetime as dt
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from juncture.cli.options import DatabaseUrl

if TYPE_CHECKING:
    from juncture.runtime.segments import Segments

segments_app = typer.Typer(no_args_is_help=True, help="Segments: declared and automatic.")
out = Console()
err = Console(stderr=True)

At = Annotated[
    str | None, typer.Option("--at", help="Evaluate as of this ISO 8601 time (default: now)")
]
Files = Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, readable=True)]


Events = Annotated[
    bool,
    typer.Option(
        "--events/--no-events",
        help="Emit Segment Entered/Exited for the profiles moved, so that segment-entry "
        "journeys start for them; --no-events fills the members silently",
    ),
]


@contextmanager
def _segments(database_url: str | None, *, moves: bool = False) -> Iterator[Segments]:
    """``moves``: with the engine, to emit the events of batch changes of membership."""
    from juncture import wiring
    from juncture.errors import JunctureError
    from juncture.runtime.segments import Segments
    from juncture.settings import load as load_settings

    flags = {"database_url": database_url} if database_url else {}
    settings = load_settings(**flags)
    store = wiring.open_store(settings)
    try:
        if moves:
            with wiring.segment_mover(settings, store) as mover:
                yield Segments(store.segments, mover)
        else:
            yield Segments(store.segments)
    except JunctureError as exc:
        typer.echo(f"{exc.code}: {exc.message}", err=True)
        raise typer.Exit(1) from exc
    finally:
        store.close()


def _now(at: str | None) -> dt.datetime:
    if at is None:
        from juncture.runtime.clock import SystemClock

        return SystemClock().now()
    found = dt.datetime.fromisoformat(at)
    if found.tzinfo is None:
        raise typer.BadParameter("--at needs a time zone, e.g. 2026-03-02T10:00:00+00:00")
    return found


@segments_app.command("validate")
def validate(files: Files) -> None:
    """Check definition files; every problem is printed as file:line: path: message."""
    from juncture.definitions import segments as segment_definitions
    from juncture.errors import JunctureError

    failed = False
    for path in files:
        try:
            segment = segment_definitions.load(path)
        except JunctureError as exc:
            failed = True
            typer.echo(exc.message, err=True)
        else:
            out.print(f"{path}: ok ({segment.id}: {segment.name})", highlight=False)
    if failed:
        raise typer.Exit(1)


@segments_app.command("apply")
def apply(
    files: Annotated[list[Path] | None, typer.Argument(exists=True, dir_okay=False)] = None,
    library: Annotated[bool, typer.Option(help="Apply the segments shipped with Juncture")] = False,
    at: At = None,
    events: Events = True,
    database_url: DatabaseUrl = None,
) -> None:
    """Validate, save and evaluate definitions (a definition with the same id is replaced)."""
    from juncture.definitions import segments as segment_definitions

    paths = [*(files or []), *(segment_definitions.library() if library else [])]
    if not paths:
        raise typer.BadParameter("give definition files or --library")
    with _segments(database_url, moves=events) as ops:
        for path in paths:
            text = path.read_text(encoding="utf-8")
            segment, done = ops.apply(text, str(path), _now(at), events=events)
            out.print(
                f"{segment.id}: {done.size:,} members, {len(done.entered):,} entered",
                highlight=False,
            )


@segments_app.command("preview")
def preview(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    at: At = None,
    database_url: DatabaseUrl = None,
) -> None:
    """How many live profiles a definition matches, without saving it."""
    with _segments(database_url) as ops:
        segment, n = ops.preview(file.read_text(encoding="utf-8"), str(file), _now(at))
    out.print(f"{segment.id}: {n:,} members (not saved)", highlight=False)


@segments_app.command("list")
def listing(
    kind: Annotated[str | None, typer.Option(help="manual or auto")] = None,
    at: At = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Every saved segment with its size now."""
    from rich.table import Table

    with _segments(database_url) as ops:
        found = ops.listing(_now(at), kind)
    table = Table("id", "kind", "size", "name")
    for s in found:
        table.add_row(s.saved.segment_id, s.saved.kind, f"{s.size:,}", s.saved.name)
    out.print(table)


@segments_app.command("show")
def show(segment_id: str, at: At = None, database_url: DatabaseUrl = None) -> None:
    """The definition as applied, its description and size."""
    with _segments(database_url) as ops:
        saved = ops.store.get(segment_id)
        summary = ops.summary(saved, _now(at))
    out.print(f"{saved.segment_id} ({saved.kind}): {saved.name}", highlight=False)
    out.print(f"{summary.description}\nsize: {summary.size:,}\n", highlight=False)
    out.print(saved.source, highlight=False, markup=False)


@segments_app.command("size")
def size(segment_id: str, at: At = None, database_url: DatabaseUrl = None) -> None:
    """How many live profiles are in the segment."""
    with _segments(database_url) as ops:
        typer.echo(ops.size(segment_id, _now(at)))


@segments_app.command("members")
def members(
    segment_id: str,
    after: Annotated[str, typer.Option(help="The last id of the previous page")] = "",
    limit: Annotated[int, typer.Option(min=1)] = 100,
    at: At = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Member profile ids, one a line, in id order."""
    with _segments(database_url) as ops:
        for pid in ops.members(segment_id, _now(at), after=after, limit=limit):
            typer.echo(pid)


@segments_app.command("export")
def export(
    segment_id: str,
    output: Annotated[Path | None, typer.Option(help="CSV file (default: stdout)")] = None,
    at: At = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Members with their main facts as CSV."""
    with _segments(database_url) as ops:
        if output is None:
            n = ops.export(segment_id, _now(at), sys.stdout)
        else:
            with output.open("w", newline="", encoding="utf-8") as f:
                n = ops.export(segment_id, _now(at), f)
    err.print(f"{n:,} members exported")


@segments_app.command("refresh")
def refresh(
    segment_id: Annotated[str | None, typer.Argument(help="Default: every declared one")] = None,
    at: At = None,
    events: Events = True,
    database_url: DatabaseUrl = None,
) -> None:
    """Re-evaluate into the members table and record the size."""
    with _segments(database_url, moves=events) as ops:
        done = ops.refresh(segment_id, _now(at), events=events)
    for sid, r in done.items():
        out.print(
            f"{sid}: {r.size:,} members, {len(r.entered):,} entered, {len(r.exited):,} exited",
            highlight=False,
        )


@segments_app.command("history")
def history(segment_id: str, database_url: DatabaseUrl = None) -> None:
    """Size over time, one row per refresh."""
    from rich.table import Table

    with _segments(database_url) as ops:
        rows = ops.history(segment_id)
    table = Table("at", "size", "entered", "exited")
    for r in rows:
        table.add_row(r["at"].isoformat(), *(f"{r[k]:,}" for k in ("size", "entered", "exited")))
    out.print(table)


@segments_app.command("auto")
def auto(
    k: Annotated[int, typer.Option(help="How many clusters")] = 5,
    seed: Annotated[int, typer.Option(help="Same data and seed, same clusters")] = 0,
    at: At = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Cluster customers on behaviour into automatic segments (replaces the last run)."""
    with _segments(database_url) as ops:
        found = ops.auto(_now(at), k, seed)
    for c in found:
        out.print(f"auto-{c.index + 1}: {c.description}", highlight=False)
