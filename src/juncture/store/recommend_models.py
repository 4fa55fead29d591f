"""Trained recommendation models kept in the database (``recommendation_models``,
migration 0016), so that a server starts with the models ``juncture recs train`` or an
earlier server trained instead of training again, and every server of one database shares
them. A model is stored as the bytes :mod:`juncture.recommend.persist` makes, with when it
was trained and the log position it has read up to (a loaded model reads on from there).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from juncture.core.events import as_utc
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
