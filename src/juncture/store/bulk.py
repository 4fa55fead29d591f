"""Many rows in one statement, through the driver: a plain ``INSERT`` and an upsert
(``INSERT ... ON CONFLICT (keys) DO UPDATE``) of dicts of column values, on SQLite and
PostgreSQL.

SQLAlchemy's executemany builds and processes each row's parameters in Python, which cost
about as much as the driver's insert of the row (a profile of ``bench catalog``). Here the
statement is written once per table and set of columns, a value goes through its column
type's bind processor only where the type has one (times on SQLite: the text form of
:func:`~juncture.store.state_base.sqlite_time`), and the driver gets plain tuples.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa

from juncture.store import driver_sql
from juncture.store.driver_sql import Processor
from juncture.store.state_base import sqlite_time


def insert_rows(conn: sa.Connection, table: sa.Table, found: Sequence[dict[str, Any]]) -> None:
    """``INSERT`` ``found`` (each a dict of the same columns) into ``table``."""
    _execute(conn, table, found, ())


def upsert_rows(
    conn: sa.Connection, table: sa.Table, found: Sequence[dict[str, Any]], keys: Sequence[str]
) -> None:
    """Insert ``found`` (dicts of the same columns), or overwrite the row with the same
    ``keys``: every other column as given (one not given: its default)."""
    _execute(conn, table, found, tuple(keys))


def _execute(
    conn: sa.Connection, table: sa.Table, found: Sequence[dict[str, Any]], keys: tuple[str, ...]
) -> None:
    if not found:
        return
    names = tuple(found[0])
    sql, processors = _statement(conn.dialect, table, names, keys)
    values = [tuple(map(r.get, names)) for r in found]
    typed = [(i, p) for i, p in enumerate(processors) if p is not None]
    if typed:
        values = [_typed(v, typed) for v in values]
    conn.exec_driver_sql(sql, values)  # a list of tuples: executemany


def _typed(row: tuple[Any, ...], typed: list[tuple[int, Callable[[Any], Any]]]) -> tuple[Any, ...]:
    found = list(row)
    for i, process in typed:
        if found[i] is not None:
            found[i] = process(found[i])
    return tuple(found)


@functools.lru_cache(maxsize=256)
def _statement(
    dialect: sa.Dialect, table: sa.Table, names: tuple[str, ...], keys: tuple[str, ...]
) -> tuple[str, tuple[Processor, ...]]:
    quote = dialect.identifier_preparer.quote
    sql = (
        f"INSERT INTO {quote(table.name)} ({driver_sql.names(dialect, names)}) "
        f"VALUES ({driver_sql.marks(dialect.name, len(names))})"
    )
    if keys:
        rest = [c.name for c in table.c if c.name not in keys]  # as given, else the default
        update = ", ".join(f"{quote(n)} = excluded.{quote(n)}" for n in rest)
        action = f"DO UPDATE SET {update}" if update else "DO NOTHING"
        sql += f" ON CONFLICT ({driver_sql.names(dialect, keys)}) {action}"
    return sql, tuple(_processor(dialect, table.c[n].type) for n in names)


def _processor(dialect: sa.Dialect, kind: Any) -> Processor:
    if dialect.name == "sqlite" and isinstance(kind, sa.DateTime):
        return sqlite_time  # SQLAlchemy's text form, in UTC, several times cheaper
    processor: Processor = kind.dialect_impl(dialect).bind_processor(dialect)
    return processor
