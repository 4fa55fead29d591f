"""SQL written for the driver (``exec_driver_sql``, a DB-API cursor) rather than compiled by
SQLAlchemy, where the compiler's cost mattered: the dialect's placeholder and its quoting of
names, in one place for SQLite (``sqlite3``: ``?``) and PostgreSQL (psycopg: ``%s``)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import sqlalchemy as sa

Processor = Callable[[Any], Any] | None  # a column type's bind or result processor, if any


def mark(dialect: str) -> str:
    """The placeholder of one value for the driver of ``dialect`` (its name).

    >>> mark("sqlite"), mark("postgresql")
    ('?', '%s')
    """
    return "?" if dialect == "sqlite" else "%s"


def marks(dialect: str, count: int) -> str:
    """``count`` placeholders, comma-separated (a ``VALUES`` or ``IN`` list)."""
    return ", ".join([mark(dialect)] * count)


def names(dialect: sa.Dialect, found: Iterable[str]) -> str:
    """``found``, each quoted as ``dialect`` needs, comma-separated."""
    return ", ".join(map(dialect.identifier_preparer.quote, found))
