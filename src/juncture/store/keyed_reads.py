"""Rows by key through the driver, for the reads of every on-site decision (products, their
related lists and stock lines by product id; a visitor's identities), on SQLite and
PostgreSQL.

SQLAlchemy's Connection, compiled statement and result cost about 200 us of CPU per read
on SQLite, several times the database's own work: three products by id took 276 us through
``conn.execute(select(...))`` and 46 us through ``sqlite3`` (a profile of ``POST
/v1/decide``, where such reads were most of a decision's time). Here the statement is
written once per table, key and number of keys, the rows come from a driver cursor on a
pooled connection, and each value goes through its column type's result processor only
where the type has one (times on SQLite), so a row holds exactly what SQLAlchemy would
have answered. The driver's errors become the store's (:mod:`juncture.store.failures`).
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa

from juncture.errors import StoreError, StoreUnavailable
from juncture.store import driver_sql
from juncture.store.driver_sql import Processor

Rows = list[dict[str, Any]]


class Reader:
    """Reads by key over one pooled driver connection (:func:`reader`)."""

    def __init__(self, dialect: sa.Dialect, cursor: Any) -> None:
        self.dialect = dialect
        self.cursor = cursor

    def by_keys(
        self,
        table: sa.Table,
        key: str,
        values: Sequence[Any],
        *,
        order: tuple[str, ...] = (),
        live: bool = False,
    ) -> Rows:
        """The rows of ``table`` whose ``key`` is one of ``values``, ordered by ``order``;
        ``live``: only those not retired (``retired_at`` null)."""
        if not values:
            return []
        sql, names = _statement(self.dialect, table, (key, len(values)), order, live)
        self.cursor.execute(sql, tuple(values))
        coltypes = tuple(d[1] for d in self.cursor.description)
        processors = _processors(self.dialect, table, coltypes)
        typed = [(i, p) for i, p in enumerate(processors) if p is not None]
        found = []
        for raw in self.cursor.fetchall():
            row = list(raw)
            for i, process in typed:
                if row[i] is not None:
                    row[i] = process(row[i])
            found.append(dict(zip(names, row, strict=True)))
        return found


@contextmanager
def reader(engine: sa.Engine, doing: str) -> Iterator[Reader]:
    """A :class:`Reader` on a connection of ``engine``'s pool, given back after the block;
    ``doing`` completes "the store cannot ..." in the error a failure raises."""
    dbapi = engine.dialect.dbapi
    try:
        conn = engine.raw_connection()
    except sa.exc.OperationalError as exc:
        raise StoreUnavailable(f"the store cannot {doing}: {exc.orig}") from exc
    try:
        cursor = conn.cursor()
        try:
            yield Reader(engine.dialect, cursor)
        finally:
            cursor.close()
    except dbapi.OperationalError as exc:  # type: ignore[union-attr]
        raise StoreUnavailable(f"the store cannot {doing}: {exc}") from exc
    except dbapi.Error as exc:  # type: ignore[union-attr]
        raise StoreError(f"the store cannot {doing}: {type(exc).__name__}") from exc
    finally:
        conn.close()  # back to the pool, which ends the read transaction


@functools.lru_cache(maxsize=512)
def _statement(
    dialect: sa.Dialect,
    table: sa.Table,
    keys: tuple[str, int],
    order: tuple[str, ...],
    live: bool,
) -> tuple[str, tuple[str, ...]]:
    """The statement for ``keys`` (the key column, how many values) and the column names."""
    key, n = keys
    quote = dialect.identifier_preparer.quote
    names = tuple(c.name for c in table.c)
    sql = (
        f"SELECT {driver_sql.names(dialect, names)} FROM {quote(table.name)} "
        f"WHERE {quote(key)} IN ({driver_sql.marks(dialect.name, n)})"
    )
    if live:
        sql += f" AND {quote('retired_at')} IS NULL"
    if order:
        sql += f" ORDER BY {driver_sql.names(dialect, order)}"
    return sql, names


@functools.lru_cache(maxsize=64)
def _processors(
    dialect: sa.Dialect, table: sa.Table, coltypes: tuple[Any, ...]
) -> tuple[Processor, ...]:
    """Each column's result processor, given the type codes the driver reported."""
    return tuple(
        c.type.dialect_impl(dialect).result_processor(dialect, code)
        for c, code in zip(table.c, coltypes, strict=True)
    )
