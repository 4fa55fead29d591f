"""Scratch databases for the benches: a PostgreSQL database of its own beside the one a URL
names, dropped afterwards, and synthetic rows bulk-inserted into a store past the engine
(``executemany`` on SQLite, ``COPY`` on PostgreSQL).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
import sqlalchemy as sa

from juncture.store import state_generation
from juncture.store.sql import SqlStore, engine_url

Rows = Iterable[list[tuple[Any, ...]]]  # chunks of rows, each committed (SQLite) as it comes


@contextmanager
def postgres(base_url: str, name: str) -> Iterator[str]:
    """The URL of a new database on the server of ``base_url`` (named after ``name``),
    dropped on leaving."""
    admin = sa.make_url(engine_url(base_url))
    conninfo = admin.set(drivername="postgresql").render_as_string(hide_password=False)
    db = f"juncture_bench_{name}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')
    try:
        yield admin.set(database=db).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')


def fill(
    store: SqlStore,
    tables: Iterable[tuple[str, Sequence[str], Rows]],
    on_table: Callable[[str], None],
) -> None:
    """Insert each table's rows (``(table, columns, chunks)``, values as the driver takes
    them: times as text on SQLite), calling ``on_table`` before each, then ANALYZE."""
    sqlite = store.dialect == "sqlite"
    pooled = store.engine.raw_connection()
    conn: Any = pooled.driver_connection
    try:
        for table, columns, chunks in tables:
            on_table(table)
            _insert(conn, sqlite, table, columns, chunks)
        conn.cursor().execute("ANALYZE")
        conn.commit()
    finally:
        pooled.close()


def _insert(conn: Any, sqlite: bool, table: str, columns: Sequence[str], chunks: Rows) -> None:
    names = ", ".join(columns)
    cur = conn.cursor()
    if sqlite:
        cur.execute("PRAGMA synchronous = OFF")
        sql = f"INSERT INTO {table} ({names}) VALUES ({','.join('?' * len(columns))})"
        for rows in chunks:
            cur.executemany(sql, rows)
            if table in state_generation.TABLES:
                state_generation.bump(cur)
            conn.commit()
        return
    with cur.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
        for rows in chunks:
            for row in rows:
                copy.write_row(row)
    conn.commit()


def backends(engine: sa.Engine, shared: Sequence[str]) -> set[int]:
    """The process ids of the PostgreSQL backends serving ``engine``'s database now, and of
    the server's processes of the ``shared`` backend types (``walwriter``, ...)."""
    query = sa.text(
        "SELECT pid FROM pg_stat_activity "
        "WHERE datname = current_database() OR backend_type = ANY(:shared)"
    )
    with engine.connect() as conn:
        return {int(r[0]) for r in conn.execute(query, {"shared": list(shared)})}
