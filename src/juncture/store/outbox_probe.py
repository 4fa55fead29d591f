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
import threading
from typing import Final

import sqlalchemy as sa

from juncture.core.events import as_utc
from juncture.store import driver_sql
from juncture.store.held import DRIVER_ERRORS, HeldConnection
from juncture.store.outbox import Outbox
from juncture.store.state_base import sqlite_time

# Outbox.due's condition, without its order and lock.
_ANY_DUE: Final = (
    "SELECT 1 FROM outbox WHERE ("
    "(status = 'pending' AND (next_attempt_at IS NULL OR next_attempt_at <= {m})) "
    "OR (status IN ('deferred', 'sending') AND next_attempt_at <= {m})"
    ") AND channel != 'onsite' LIMIT 1"
)
_ERRORS: Final = (*DRIVER_ERRORS, sa.exc.SQLAlchemyError)


class DueProbe:
    """A look at ``outbox``'s table. Thread-safe; :meth:`close` releases the held connection
    (opened again when needed)."""

    def __init__(self, outbox: Outbox) -> None:
        self._sqlite = outbox.dialect == "sqlite"
        self._sql = _ANY_DUE.format(m=driver_sql.mark(outbox.dialect))
        self._lock = threading.Lock()
        self._held = HeldConnection(outbox.engine, "outbox probe")

    def anything_due(self, now: dt.datetime) -> bool:
        """Whether :meth:`Outbox.due` at ``now`` would find a row; True when unsure."""
        when = sqlite_time(as_utc(now)) if self._sqlite else as_utc(now)
        with self._lock:
            try:
                return bool(self._held.fetch(self._sql, (when, when)))
            except _ERRORS:
                self._held.close()
                return True  # the claim will find out, and report what is wrong

    def close(self) -> None:
        with self._lock:
            self._held.close()
