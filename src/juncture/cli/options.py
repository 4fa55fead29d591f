"""Options that several ``juncture`` commands share."""

from __future__ import annotations

from typing import Annotated

import typer

DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", help="Defaults to $JUNCTURE_DATABASE_URL or ./juncture.db"),
]
