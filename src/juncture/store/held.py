"""A driver connection held by one reader for cheap repeated queries.

Taken from the engine's pool and detached from it (it is never handed back with autocommit
set), in autocommit on PostgreSQL (SQLite's driver does not open a transaction for a
SELECT), so that it never holds a snapshot between queries. Closed by :meth:`close`, or when
its owner drops it (the API's and the engine's readers live as long as the process; tests
make many). Not thread-safe: its owner locks.
"""

from __future__ import annotations

import logging
import sqlite3
import weakref
from typing import Any, Final

import psycopg
import sqlalchemy as sa

log = logging.getLogger(__name__)
DRIVER_ERRORS: Final = (sqlite3.Error, psycopg.Error)


def _close_quietly(conn: Any, name: str) -> None:
    try:
        conn.close()
    except (*DRIVER_ERRORS, sa.exc.SQLAlchemyError):
        log.warning("closing the %s connection failed; dropped", name)


class HeldConnection:
    def __init__(self, engine: sa.Engine, name: str) -> None:
        self.engine = engine
        self.name = name  # for the log
        self._conn: Any = None
        self._closer: weakref.finalize[Any, Any] | None = None

    def fetch(self, sql: str, params: tuple[Any, ...]) -> list[Any]:
        """All rows of one statement (read to the end: no statement is left open). A driver
        error propagates; the owner decides whether to :meth:`close` and try again."""
        if self._conn is None:
            self._conn = self._open()
        cursor = self._conn.cursor()
        try:
            cursor.execute(sql, params)
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def close(self) -> None:
        if self._conn is not None:
            if self._closer is not None:
                self._closer()
            self._conn = None

    def _open(self) -> Any:
        conn = self.engine.raw_connection()
        driver = conn.driver_connection
        conn.detach()
        if isinstance(driver, psycopg.Connection):
            driver.rollback()
            driver.autocommit = True
        self._closer = weakref.finalize(self, _close_quietly, conn, self.name)
        return conn
