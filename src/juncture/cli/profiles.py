"""``juncture profiles ...``: a person's data, exported or erased, from the command line."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import typer
from rich.console import Console

from juncture.cli.options import DatabaseUrl

if TYPE_CHECKING:
    from juncture.store.sql import SqlStore

profiles_app = typer.Typer(
    no_args_is_help=True, help="Profiles: a person's data, exported or erased."
)
out = Console()
err = Console(stderr=True)

ProfileId = Annotated[
    str | None, typer.Argument(help="The profile (a merged id names its survivor)")
]
UserId = Annotated[
    str | None, typer.Option("--user-id", help="Find the profile by user id instead")
]


@contextmanager
def _person(
    database_url: str | None, profile_id: str | None, user_id: str | None
) -> Iterator[tuple[SqlStore, str]]:
    """The store, open while in use, and the profile id the arguments name."""
    from juncture import wiring
    from juncture.settings import load as load_settings

    store = wiring.open_store(load_settings(database_url=database_url))
    try:
        yield store, _profile_id(store, profile_id, user_id)
    finally:
        store.close()


def _not_found(profile_id: str) -> NoReturn:
    err.print(f"profile_not_found: no profile {profile_id}")
    raise typer.Exit(1)


def _profile_id(store: SqlStore, profile_id: str | None, user_id: str | None) -> str:
    """The profile id given, or the one the user id belongs to (exit 1 if none, 2 if both
    or neither were given)."""
    from juncture.core import identity

    if (profile_id is None) == (user_id is None):
        err.print("give a profile id or --user-id, not both")
        raise typer.Exit(2)
    if user_id is None:
        assert profile_id is not None
        return profile_id
    found = store.profiles.by_identifier(f"{identity.USER}:{user_id}")
    if found is None:
        err.print("profile_not_found: no profile has this user id")
        raise typer.Exit(1)
    return found.profile.profile_id


@profiles_app.command("erase")
def erase(
    profile_id: ProfileId = None,
    user_id: UserId = None,
    reference: Annotated[
        str | None,
        typer.Option("--reference", help="The request's reference (a ticket), kept in the record"),
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """Erase a person: their profile, every profile merged into it, and every row about them
    in every table, and record that (without naming them). Safe beside a running server (it
    writes on a writer of its own)."""
    from rich.table import Table

    from juncture import wiring

    with _person(database_url, profile_id, user_id) as (store, pid):
        if not yes:
            typer.confirm(f"Erase profile {pid} and everything about this person?", abort=True)
        with wiring.eraser(store) as eraser:
            erased = eraser.erase(pid, reference)
    if erased is None:
        _not_found(pid)
    table = Table("table", "rows", title=f"erased {len(erased.profiles)} profiles")
    for name, count in sorted(erased.rows.items()):
        table.add_row(name, str(count))
    out.print(table)


@profiles_app.command("export")
def export(
    profile_id: ProfileId = None,
    user_id: UserId = None,
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the JSON here (default: stdout)")
    ] = None,
    database_url: DatabaseUrl = None,
) -> None:
    """Everything about a person as JSON, table by table: the rows erasure would delete."""
    import orjson

    from juncture.store import export as store_export

    with _person(database_url, profile_id, user_id) as (store, pid):
        found = store_export.export(store, pid)
    if found is None:
        _not_found(pid)
    text = orjson.dumps(found, option=orjson.OPT_INDENT_2).decode()
    if output is None:
        typer.echo(text)
    else:
        output.write_text(text + "\n")
        rows = sum(len(r) for r in found["tables"].values())
        err.print(f"{rows} rows of {len(found['tables'])} tables written to {output}")


@profiles_app.command("erasures")
def erasures(
    limit: Annotated[int, typer.Option("--limit", min=1, help="How many, newest first")] = 20,
    as_json: Annotated[bool, typer.Option("--json", help="JSON instead of a table")] = False,
    database_url: DatabaseUrl = None,
) -> None:
    """The erasures done: when, the reference, how many profiles and rows."""
    import orjson
    from rich.table import Table

    from juncture import wiring
    from juncture.settings import load as load_settings

    store = wiring.open_store(load_settings(database_url=database_url))
    try:
        found = store.erasures(limit)
    finally:
        store.close()
    if as_json:
        typer.echo(orjson.dumps(found, option=orjson.OPT_INDENT_2).decode())
        return
    table = Table("id", "at", "reference", "profiles", "rows", title="erasures, newest first")
    for r in found:
        rows = ", ".join(f"{k} {v}" for k, v in r["rows"].items())
        table.add_row(str(r["id"]), r["at"], r["reference"] or "", str(r["profiles"]), rows)
    out.print(table)
