"""Rows by key through the driver, for the reads of every on-site decision (products, their
related lists and stock lines by product id; the visitor, their product views and the
impressions counted for the cap), on SQLite and PostgreSQL.

SQLAlchemy's Connection, compiled statement and result cost about 200 us of CPU per read
on SQLite, several times the database's own work: three products by id took 276 us through
``conn.execute(select(...))`` and 46 us through ``sqlite3`` (a profile of ``POST
/v1/decide``, where such reads were most of a decision's time). Here the statement is
written once per table, key and number of keys, the rows come from a driver cursor on a
pooled connection, and each value goes through its column type's result processor only
where the type has one (times on SQLite), so a row holds exactly what SQLAlchemy would
have answered. A statement built once with SQLAlchemy (:meth:`Reader.rows`) is compiled
once per dialect and run the same way, its parameters through their types' bind processors.
The driver's errors become the store's (:mod:`juncture.store.failures`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping, Sequence
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
        processors = _processors(self.dialect, table, self._coltypes())
        return [dict(zip(names, row, strict=True)) for row in self._fetched(processors)]

    def rows(self, statement: sa.Select[Any], params: Mapping[str, Any]) -> list[tuple[Any, ...]]:
        """The rows of a prebuilt ``statement`` (no expanding parameters) given ``params``
        by name, as SQLAlchemy would answer them."""
        sql, names, fixed, binds = _compiled(self.dialect, statement)
        values = {**fixed, **params}  # the statement's own literals, then those given
        for name, bind in binds.items():
            if values[name] is not None:
                values[name] = bind(values[name])
        self.cursor.execute(sql, values if names is None else tuple(values[n] for n in names))
        processors = _results(self.dialect, statement, self._coltypes())
        return [tuple(row) for row in self._fetched(processors)]

    def _coltypes(self) -> tuple[Any, ...]:
        return tuple(d[1] for d in self.cursor.description)

    def _fetched(self, processors: Sequence[Processor]) -> list[list[Any]]:
        """The rows fetched, each value through its column's processor (where it has one)."""
        typed = [(i, p) for i, p in enumerate(processors) if p is not None]
        found = []
        for raw in self.cursor.fetchall():
            row = list(raw)
            for i, process in typed:
                if row[i] is not None:
                    row[i] = process(row[i])
            found.append(row)
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


@functools.lru_cache(maxsize=64)
def _compiled(
    dialect: sa.Dialect, statement: sa.Select[Any]
) -> tuple[str, tuple[str, ...] | None, dict[str, Any], dict[str, Callable[[Any], Any]]]:
    """``statement``'s SQL for ``dialect``, the order of its parameters (None: by name),
    their values in the statement (its literals) and the bind processors of those whose
    type has one."""
    compiled = statement.compile(dialect=dialect)
    binds: dict[str, Callable[[Any], Any]] = {}
    for name, bind in compiled.binds.items():
        process = bind.type.dialect_impl(dialect).bind_processor(dialect)
        if process is not None:
            binds[name] = process
    order = compiled.positiontup
    fixed = {name: b.effective_value for name, b in compiled.binds.items() if not b.required}
    return compiled.string, None if order is None else tuple(order), fixed, binds


@functools.lru_cache(maxsize=64)
def _results(
    dialect: sa.Dialect, statement: sa.Select[Any], coltypes: tuple[Any, ...]
) -> tuple[Processor, ...]:
    """Each selected column's result processor, given the type codes the driver reported."""
    return tuple(
        c.type.dialect_impl(dialect).result_processor(dialect, code)
        for c, code in zip(statement.selected_columns, coltypes, strict=True)
    )
