"""``juncture profiles ...``: erasing a person from the command line."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from juncture import wiring
from juncture.core import identity
from juncture.runtime.erasure import Eraser
from juncture.settings import load as load_settings
from juncture.store.profiles import ProfileReads

profiles_app = typer.Typer(no_args_is_help=True, help="Profiles: erasure of a person.")
out = Console()
err = Console(stderr=True)


@profiles_app.command("erase")
def erase(
    profile_id: Annotated[
        str | None, typer.Argument(help="The profile (a merged id names its survivor)")
    ] = None,
    user_id: Annotated[
        str | None, typer.Option("--user-id", help="Find the profile by user id instead")
    ] = None,
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation")] = False,
    database_url: Annotated[
        str | None,
        typer.Option("--database-url", help="Defaults to $JUNCTURE_DATABASE_URL or ./juncture.db"),
    ] = None,
) -> None:
    """Erase a person: their profile, every profile merged into it, and every row about them
    in every table. Safe beside a running server (it writes on a writer of its own)."""
    if (profile_id is None) == (user_id is None):
        err.print("give a profile id or --user-id, not both")
        raise typer.Exit(2)
    settings = load_settings(database_url=database_url)
    store = wiring.open_store(settings)
    try:
        if user_id is not None:
            found = ProfileReads(store).by_identifier(f"{identity.USER}:{user_id}")
            if found is None:
                err.print("profile_not_found: no profile has this user id")
                raise typer.Exit(1)
            profile_id = found.profile.profile_id
        assert profile_id is not None
        if not yes:
            typer.confirm(
                f"Erase profile {profile_id} and everything about this person?", abort=True
            )
        writer = store.writer()
        try:
            erased = Eraser(lambda process: writer.append([], [], process)).erase(profile_id)
        finally:
            writer.close()
    finally:
        store.close()
    if erased is None:
        err.print(f"profile_not_found: no profile {profile_id}")
        raise typer.Exit(1)
    table = Table("table", "rows", title=f"erased {len(erased.profiles)} profiles")
    for name, count in sorted(erased.rows.items()):
        table.add_row(name, str(count))
    out.print(table)
