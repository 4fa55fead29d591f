"""A count of the committed writes to some tables, so that a cache of their reads in this
process knows when to forget what it holds.

:class:`Generation` watches one SQLAlchemy engine: a statement that inserts, updates or
deletes rows of a watched table marks its connection, and when the connection goes back to
the pool (after its COMMIT or ROLLBACK, so after the write is visible to every other
connection) the generation moves on. A reader that notes the generation before a read and
keeps what it read only under that generation can therefore never keep a row older than a
write it saw committed; writes by other processes (or by a raw DBAPI cursor) are not seen,
which is why the caches also forget everything after a bounded time.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Collection
from typing import Any, Final

import sqlalchemy as sa

_MARK: Final = "juncture_watched_write"
_WRITES: Final = ("INSERT", "UPDATE", "DELETE", "REPLAC", "MERGE ")


class Generation:
    """The number of committed transactions in this process that wrote a watched table."""

    def __init__(self, engine: sa.Engine, tables: Collection[str]) -> None:
        names = "|".join(re.escape(name) for name in sorted(tables, key=len, reverse=True))
        self._watched = re.compile(rf"\b({names})\b", re.IGNORECASE)
        self._lock = threading.Lock()
        self.value = 0
        self._mark = f"{_MARK}:{id(self)}"
        sa.event.listen(engine, "after_cursor_execute", self._executed)
        sa.event.listen(engine.pool, "checkin", self._checked_in)

    def bump(self) -> None:
        """Count a write made some other way (the caller's own)."""
        with self._lock:
            self.value += 1

    def _executed(self, conn: sa.Connection, _cursor: Any, statement: str, *_rest: Any) -> None:
        head = statement.lstrip()[:6].upper()
        if head.startswith(_WRITES) and self._watched.search(statement):
            conn.info[self._mark] = True
            self.bump()  # and again at check-in: a read in between is not kept

    def _checked_in(self, _dbapi: Any, record: Any, *_rest: Any) -> None:
        if record is not None and record.info.pop(self._mark, False):
            self.bump()
