"""Trained recommendation models kept in the database (``recommendation_models``,
migration 0016), so that a server starts with the models ``juncture recs train`` or an
earlier server trained instead of training again, and every server of one database shares
them. A model is stored as the bytes :mod:`juncture.recommend.persist` makes, with when it
was trained and the log position it has read up to (a loaded model reads on from there).

One process of a deployment trains at a time: :meth:`ModelStore.lease` holds a PostgreSQL
advisory lock, on a connection of its own, while the block trains (PostgreSQL drops it when
the process dies); the others take the models it saves (:meth:`ModelStore.trained_at` says
cheaply when a newer training saved them).
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa

from juncture.core.events import as_utc
from juncture.store import failures
from juncture.store.bulk import upsert_rows
from juncture.store.catalog import Repository
from juncture.store.tables import metadata

recommendation_models = sa.Table(
    "recommendation_models",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("trained_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("seq", sa.BigInteger(), nullable=False),
    sa.Column("body", sa.LargeBinary(), nullable=False),
)
M = recommendation_models


@dataclass(frozen=True, slots=True)
class Saved:
    """A stored model: its bytes, when it was trained and the log position it had read."""

    body: bytes
    trained_at: dt.datetime
    seq: int


class ModelStore(Repository):
    """Models by name (one row each, replaced by the next training)."""

    def save(self, name: str, saved: Saved) -> None:
        row = {"name": name, "trained_at": saved.trained_at, "seq": saved.seq}
        with self._begin("save a recommendation model") as conn:  # nodes may save at once
            upsert_rows(conn, M, [{**row, "body": saved.body}], ["name"])

    def load(self, name: str) -> Saved | None:
        query = sa.select(M.c.body, M.c.trained_at, M.c.seq).where(M.c.name == name)
        with self._begin("load a recommendation model") as conn:
            found = conn.execute(query).one_or_none()
        return None if found is None else Saved(bytes(found[0]), as_utc(found[1]), found[2])

    def trained_at(self, name: str) -> dt.datetime | None:
        """When the saved model ``name`` was trained (None: none is saved), without its bytes."""
        query = sa.select(M.c.trained_at).where(M.c.name == name)
        with self._begin("read when a recommendation model was trained") as conn:
            found = conn.execute(query).scalar_one_or_none()
        return None if found is None else as_utc(found)

    @contextmanager
    def lease(self, name: str, *, wait: bool) -> Iterator[bool]:
        """Hold the right to train ``name`` while the block runs: whether it is held (False:
        another process holds it, and ``wait`` is False). ``wait``: until the other lets go.
        On SQLite one process serves the file: always held (its caller's lock is the one
        that counts). Not reentrant: one lease at a time per process."""
        if self.engine.dialect.name != "postgresql":
            yield True
            return
        key = zlib.crc32(f"juncture:recommendations:{name}".encode()) - 2**31
        take = "pg_advisory_lock" if wait else "pg_try_advisory_lock"
        with failures.connection(self.engine) as conn:
            got = conn.execute(sa.text(f"SELECT {take}(:k)"), {"k": key}).scalar() is not False
            conn.commit()  # a session lock: no transaction stays open while the block trains
            try:
                yield got
            finally:
                if got:
                    _let_go(conn, key)


def _let_go(conn: sa.Connection, key: int) -> None:
    """Release the lease; a connection that cannot is dropped (its session ends: so does
    the lock), never handed back to the pool still holding it."""
    try:
        conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
        conn.commit()
    except sa.exc.SQLAlchemyError:
        conn.invalidate()
