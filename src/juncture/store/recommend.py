"""What the recommenders read: the product events of the log (by sequence, so that a reader
can follow it) and the live products of the catalogue, in pages.

Each event is named by its shopper: the live profile (a merged profile's survivor), else
the profile the event was stored with, else its user or anonymous id when the engine has
not applied it yet.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any, Final

import orjson
import sqlalchemy as sa

from juncture.core import retail
from juncture.core.events import as_utc
from juncture.core.profile.reducer import DERIVED_SOURCE
from juncture.store import failures, tables
from juncture.store.catalog import Catalog

PAGE: Final = 20_000
E, P = tables.events, tables.profiles


@dataclass(frozen=True, slots=True)
class ProductEvent:
    seq: int
    shopper: str
    event: str
    at: dt.datetime
    properties: dict[str, Any]


class RecommendReads:
    """Reads for training and for following the log between trainings."""

    def __init__(self, engine: sa.Engine, catalog: Catalog) -> None:
        self.engine = engine
        self.catalog = catalog

    def events(
        self, names: Collection[str], after_seq: int = 0, limit: int = PAGE
    ) -> list[ProductEvent]:
        """Tracked events named ``names`` after ``after_seq``, at most ``limit``, in order."""
        shopper = sa.func.coalesce(
            P.c.redirect_to,
            E.c.profile_id,
            sa.literal("user_id:") + E.c.user_id,
            sa.literal("anonymous_id:") + E.c.anonymous_id,
        )
        query = (
            sa.select(E.c.seq, shopper, E.c.event, E.c.timestamp, E.c.body)
            .select_from(E.outerjoin(P, P.c.profile_id == E.c.profile_id))
            .where(
                E.c.seq > after_seq,
                E.c.type == "track",
                # Not the index on event: it would read every such event ever stored and
                # sort them, where the log's order from after_seq reads only the new ones
                # (SQLite chose it: 5.8 ms against 0.4 ms per read on the demo's database).
                sa.func.coalesce(E.c.event, "").in_(list(names)),
                E.c.source != DERIVED_SOURCE,
            )
            .order_by(E.c.seq)
            .limit(limit)
        )
        with failures.mapped("read product events"), self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [_event(*row) for row in rows if row[1] is not None]

    def all_events(self, names: Collection[str]) -> Iterator[ProductEvent]:
        """Every tracked event named ``names``."""
        for page in self.pages(names):
            yield from page

    def pages(self, names: Collection[str], end: int | None = None) -> Iterator[list[ProductEvent]]:
        """The tracked events named ``names`` (up to seq ``end``), a page at a time."""
        after = 0
        while page := self.events(names, after):
            kept = [e for e in page if end is None or e.seq <= end]
            if kept:
                yield kept
            if len(kept) < len(page):
                return
            after = page[-1].seq

    def last_seq(self) -> int:
        query = sa.select(sa.func.coalesce(sa.func.max(E.c.seq), 0))
        with failures.mapped("read the log's end"), self.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())

    def products(self) -> Iterator[retail.Product]:
        """Every live product of the catalogue, by id."""
        after = ""
        while page := self.catalog.search(limit=200, after=after):
            yield from page
            after = page[-1].id


def _event(seq: int, shopper: str, event: str, at: dt.datetime, body: str) -> ProductEvent:
    data = orjson.loads(body)
    props = data.get("properties") if isinstance(data, dict) else None
    return ProductEvent(seq, shopper, event, as_utc(at), props if isinstance(props, dict) else {})
