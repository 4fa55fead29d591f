"""A cheap look at whether the outbox holds anything the dispatcher could send now.

Most dispatcher rounds find nothing due (in the demo, seven rounds in ten). Finding that out
through :meth:`Outbox.claim <juncture.store.outbox.Outbox.claim>` costs a worker-thread hop
and a SQLAlchemy transaction, some 400 us on a busy two-core machine; this asks the same
question (the same condition as :meth:`Outbox.due <juncture.store.outbox.Outbox.due>`) in one
statement on a driver connection kept for the purpose, in autocommit so that it never holds
a snapshot: some 15 us on SQLite. It can only save work: when it answers yes, or cannot
answer, the round claims as before.
"""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
import threading
import weakref
from typing import Any, Final

import psycopg
import sqlalchemy as sa

from juncture.core.events import as_utc
from juncture.store.state import sqlite_time

log = logging.getLogger(__name__)
# Outbox.due's condition, without its order and lock.
_ANY_DUE: Final = (
    "SELECT 1 FROM outbox WHERE ("
    "(status = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= {m})) "
    "OR (status IN ('deferred', 'sending') AND next_attempt_at <= {m})"
    ") AND channel != 'onsite' LIMIT 1"
)
_ERRORS: Final = (sqlite3.Error, psycopg.Error, sa.exc.SQLAlchemyError)


def _close_quietly(conn: Any) -> None:
    try:
        conn.close()
    except _ERRORS:
        log.warning("closing the outbox probe's connection failed; dropped")


class DueProbe:
    """Thread-safe; :meth:`close` releases the held connection (opened again when needed)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._sqlite = engine.dialect.name == "sqlite"
        self._sql = _ANY_DUE.format(m="?" if self._sqlite else "%s")
        self._lock = threading.Lock()
        self._conn: Any = None
        self._closer: weakref.finalize[Any, Any] | None = None

    def anything_due(self, now: dt.datetime) -> bool:
        """Whether :meth:`Outbox.due` at ``now`` would find a row; True when unsure."""
        when = sqlite_time(as_utc(now)) if self._sqlite else as_utc(now)
        with self._lock:
            try:
                if self._conn is None:
                    self._conn = self._open()
                cursor = self._conn.cursor()
                try:
                    cursor.execute(self._sql, (when, when))
                    return bool(cursor.fetchall())  # read to the end: no statement left open
                finally:
                    cursor.close()
            except _ERRORS:
                self._close()
                return True  # the claim will find out, and report what is wrong

    def close(self) -> None:
        with self._lock:
            self._close()

    def _open(self) -> Any:
        conn = self.engine.raw_connection()
        driver = conn.driver_connection
        conn.detach()  # ours alone: never handed back to the pool with autocommit set
        if isinstance(driver, psycopg.Connection):
            driver.rollback()
            driver.autocommit = True
        self._closer = weakref.finalize(self, _close_quietly, conn)
        return conn

    def _close(self) -> None:
        if self._conn is not None:
            if self._closer is not None:
                self._closer()
            self._conn = None
