"""Shoppers' wish lists as a repository (tables ``wish_lists`` and ``wish_list_items``).

Items come from Segment's e-commerce events (``Product Added to Wishlist``, ``Product
Removed from Wishlist``) and from the admin API. The events are folded from the event log
when a wish list is read (:meth:`Wishes.fold`): the events after the fold's position
(``log_positions`` row :data:`POSITION`) go through :func:`juncture.core.engagement.fold`,
each item row keeping the seq that last set it, so that two folds at once, or the same
events again, change nothing. The position advances only over committed events: ingestion
commits the log in seq order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from juncture.core import engagement
from juncture.core.events import as_utc, from_row
from juncture.core.profile.reducer import DERIVED_SOURCE
from juncture.store import programme_tables as t
from juncture.store import tables
from juncture.store.bulk import upsert_rows
from juncture.store.catalog import Repository

POSITION: Final = "wish_lists"  # the fold's row in log_positions
FOLD_MOST: Final = 5000  # events folded per read, at most
_SKIP_AHEAD: Final = 2000  # a range without wish list events this long moves the position
W, ITEMS = t.wish_lists, t.wish_list_items


class Wishes(Repository):
    """Wish lists of one store's engine. Every method is one transaction."""

    def fold(self, at: dt.datetime) -> int:
        """Fold the wish list events the log holds after the fold's position; how many."""
        e, p = tables.events, tables.log_positions
        with self._begin("fold wish list events") as conn:
            start = int(conn.execute(sa.select(p.c.seq).where(p.c.name == POSITION)).scalar() or 0)
            query = (
                sa.select(e)
                .where(e.c.seq > start, e.c.event.in_(engagement.WISH_EVENTS))
                .where(e.c.source != DERIVED_SOURCE)
                .order_by(e.c.seq)
                .limit(FOLD_MOST)
            )
            found = [from_row(**dict(r._mapping)) for r in conn.execute(query)]
            if found:
                end = found[-1].seq
                self._apply(conn, found)
            else:
                head = conn.execute(sa.select(sa.func.max(e.c.seq))).scalar() or 0
                if head - start < _SKIP_AHEAD:
                    return 0
                end = int(head)
            upsert_rows(conn, p, [{"name": POSITION, "seq": end, "updated_at": at}], ["name"])
        return len(found)

    def _apply(self, conn: sa.Connection, events: Sequence[Any]) -> None:
        folded: engagement.Wishes = {}
        for ev in events:
            owner = f"user_id:{ev.user_id}" if ev.user_id else f"anonymous_id:{ev.anonymous_id}"
            folded = engagement.fold(folded, owner, ev.event, ev.properties, (ev.timestamp, ev.seq))
        rows = [_item_row(w) for w in folded.values()]
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(ITEMS)
        update = {c: stmt.excluded[c] for c in _ITEM_COLUMNS}
        # only a later event changes a row: two folds at once, or one again, change nothing
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["owner", "product_id"],
                set_=update,
                where=sa.or_(ITEMS.c.seq.is_(None), ITEMS.c.seq < stmt.excluded.seq),
            ),
            rows,
        )

    def items(self, owners: Sequence[str]) -> list[engagement.Wish]:
        """The products listed (not removed) by any of ``owners``, latest added first."""
        query = (
            sa.select(ITEMS)
            .where(ITEMS.c.owner.in_(list(owners)), ITEMS.c.removed_at.is_(None))
            .order_by(ITEMS.c.added_at.desc(), ITEMS.c.product_id)
        )
        with self._begin("read wish lists") as conn:
            return [_wish(r._mapping) for r in conn.execute(query)]

    def shared(self, owners: Sequence[str]) -> bool:
        """Whether any of ``owners`` shared their wish list."""
        query = sa.select(sa.func.count()).where(W.c.owner.in_(list(owners)), W.c.shared)
        with self._begin("read wish lists") as conn:
            return bool(conn.execute(query).scalar_one())

    def share(self, owner: str, shared: bool, at: dt.datetime) -> None:
        with self._begin("share a wish list") as conn:
            upsert_rows(conn, W, [{"owner": owner, "shared": shared, "updated_at": at}], ["owner"])

    def put(self, wish: engagement.Wish) -> None:
        """Add (or, ``removed``, take off) one item over the API."""
        with self._begin("write a wish list") as conn:
            upsert_rows(conn, ITEMS, [_item_row(wish)], ["owner", "product_id"])

    def wishers(self, product_ids: Sequence[str]) -> dict[str, list[str]]:
        """For each product, the owners who list it, in owner order."""
        query = (
            sa.select(ITEMS.c.product_id, ITEMS.c.owner)
            .where(ITEMS.c.product_id.in_(list(product_ids)), ITEMS.c.removed_at.is_(None))
            .order_by(ITEMS.c.product_id, ITEMS.c.owner)
        )
        found: dict[str, list[str]] = {}
        with self._begin("read who wish-listed products") as conn:
            for pid, owner in conn.execute(query):
                found.setdefault(str(pid), []).append(str(owner))
        return found


_ITEM_COLUMNS: Final = ("wishlist_id", "price", "added_at", "removed_at", "seq")


def _item_row(w: engagement.Wish) -> dict[str, Any]:
    return {
        "owner": w.owner,
        "product_id": w.product_id,
        "wishlist_id": w.wishlist_id,
        "price": w.price,
        "added_at": w.added_at,
        "removed_at": w.removed_at,
        "seq": w.seq,
    }


def _wish(m: Any) -> engagement.Wish:
    return engagement.Wish(
        m["owner"],
        m["product_id"],
        as_utc(m["added_at"]),
        m["price"],
        m["wishlist_id"],
        removed_at=as_utc(m["removed_at"]) if m["removed_at"] is not None else None,
        seq=m["seq"],
    )
