"""The retailer's tables as a repository: upserts of feed rows (products, stock by location,
locations) that say what changed, and the reads the API, placements and templates make.

Each upsert is one transaction over a batch: it reads the rows of the batch's keys, writes
only the records that are new or differ, and answers them as ``(before, after)`` pairs
(``before`` None for a new one), so that importing the same feed twice writes nothing and
a caller can tell a price drop or a return to stock from the pair. Reads leave retired
products and locations out.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Collection, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, Final, TypeVar

import sqlalchemy as sa

from juncture.core import retail
from juncture.core.events import as_utc
from juncture.store import catalog_rows as rows
from juncture.store import driver_sql, failures, keyed_reads, tables
from juncture.store.bulk import insert_rows, upsert_rows
from juncture.store.catalog_tables import (
    catalog_changes,
    locations,
    products,
    related_products,
    stock,
)

P, R, S, L, C = products, related_products, stock, locations, catalog_changes
MAX_SEARCH: Final = 200
# Built once: the reads of every decision by product ids, not put together per request.
_IDS: Final[sa.BindParameter[str]] = sa.bindparam("ids", expanding=True)
_PRICES: Final = sa.select(
    P.c.product_id, P.c.price, P.c.sale_price, P.c.sale_starts, P.c.sale_ends
).where(P.c.retired_at.is_(None))
_RELATED: Final = (
    sa.select(R).where(R.c.product_id.in_(_IDS)).order_by(R.c.product_id, R.c.position)
)
_SET_HASH: Final = {
    name: f"UPDATE products SET feed_hash = {mark} WHERE product_id = {mark}"
    for name, mark in (("sqlite", "?"), ("postgresql", "%s"))
}
_T = TypeVar("_T")
Change = tuple[_T | None, _T]


class Repository:
    """Tables of one store's engine; each method is one transaction (:meth:`_begin`, which
    maps the database's failures to Juncture's, saying what was being done)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def _begin(self, doing: str) -> AbstractContextManager[sa.Connection]:
        return failures.transaction(self.engine, doing)


class Catalog(Repository):
    """The retailer's tables of one store's engine. Every method is one transaction."""

    # --- writes ---------------------------------------------------------------------------
    def upsert_products(
        self,
        batch: Sequence[retail.Product],
        at: dt.datetime,
        hashes: Mapping[str, str] | None = None,
        stored: Collection[str] | None = None,
        new: Collection[rows.New] = (),
    ) -> list[Change[retail.Product]]:
        """Insert or update ``batch`` (the last of one id wins); the records that changed.
        ``hashes``: each product's feed row fingerprint, stored with it (also with an
        unchanged product whose row was written differently); ``stored``: the ids of
        ``batch`` that exist (:meth:`fingerprints`' keys), None when not known: the others
        are new, nothing is read or deleted for them. ``new``: the rows of products found
        not to exist (:func:`~juncture.store.catalog_rows.new_product`, ids apart from
        ``batch``'s), written in the same transaction and not answered."""
        latest = {p.id: p for p in batch}
        given = hashes or {}
        ids = list(latest) if stored is None else [i for i in latest if i in stored]
        with self._begin("write products") as conn:
            # a retired product listed again comes back as new
            before = _products(conn, P.c.product_id.in_(ids)) if ids else {}
            changed = [(before.get(i), p) for i, p in latest.items() if before.get(i) != p]
            found = [rows.product_row(p, at, given.get(p.id)) for _, p in changed]
            found += [row for row, _ in new]
            if found:
                upsert_rows(conn, P, found, ["product_id"])
                lines = [line for _, related in new for line in related]
                _relate(conn, [p for _, p in changed], set(ids), lines)
                _record(conn, [c for b, a in changed for c in retail.product_changes(b, a, at)])
            same = [(given[i], i) for i, p in before.items() if i in given and latest[i] == p]
            if same:
                conn.exec_driver_sql(_SET_HASH[conn.dialect.name], same)
        return changed

    def fingerprints(self, ids: Sequence[str]) -> dict[str, str | None]:
        """The products of ``ids`` that exist (retired too), each with the fingerprint of
        the feed row it was built from when it is live and has one: a row with the same
        fingerprint builds the same product (nothing to do)."""
        if not ids:
            return {}
        with keyed_reads.reader(self.engine, "read product fingerprints") as read:
            read.cursor.execute(_hashes(read.dialect, len(ids)), tuple(ids))
            found = read.cursor.fetchall()
        return {
            str(i): None if retired is not None or h is None else str(h) for i, h, retired in found
        }

    def upsert_stock(
        self, batch: Sequence[retail.Stock], at: dt.datetime
    ) -> list[Change[retail.Stock]]:
        """Insert or update stock lines by (product, location); the lines that changed."""
        latest = {(s.product_id, s.store_code): s for s in batch}
        keys = sa.tuple_(S.c.product_id, S.c.store_code).in_(list(latest))
        with self._begin("write stock") as conn:
            before = {
                (s.product_id, s.store_code): s
                for s in map(rows.stock, _mappings(conn, sa.select(S).where(keys)))
            }
            changed = [(before.get(k), s) for k, s in latest.items() if before.get(k) != s]
            if changed:
                found = [rows.stock_row(s, at) for _, s in changed]
                upsert_rows(conn, S, found, ["product_id", "store_code"])
                _record(conn, [c for b, a in changed for c in retail.stock_changes(b, a, at)])
        return changed

    def upsert_locations(
        self, batch: Sequence[retail.Location], at: dt.datetime
    ) -> list[Change[retail.Location]]:
        latest = {loc.store_code: loc for loc in batch}
        query = sa.select(L).where(L.c.store_code.in_(list(latest)), L.c.retired_at.is_(None))
        with self._begin("write locations") as conn:
            before = {loc.store_code: loc for loc in map(rows.location, _mappings(conn, query))}
            changed = [(before.get(k), v) for k, v in latest.items() if before.get(k) != v]
            if changed:
                found = [rows.location_row(v, at) for _, v in changed]
                upsert_rows(conn, L, found, ["store_code"])
        return changed

    def insert_plain(self, batch: Sequence[retail.Product], at: dt.datetime) -> None:
        """Insert new products with a plain INSERT in one transaction, nothing read first and
        no related lists: the raw limit an import is measured against (``bench catalog``)."""
        with self._begin("insert products") as conn:
            insert_rows(conn, P, [rows.product_row(p, at) for p in batch])

    def retire_products(self, keep: set[str], at: dt.datetime) -> int:
        """Retire every live product not in ``keep`` (a full feed's ids); how many."""
        return self._retire(P, P.c.product_id, keep, at)

    def retire_locations(self, keep: set[str], at: dt.datetime) -> int:
        return self._retire(L, L.c.store_code, keep, at)

    def _retire(self, table: sa.Table, key: Any, keep: set[str], at: dt.datetime) -> int:
        with self._begin("retire rows") as conn:
            live = conn.execute(sa.select(key).where(table.c.retired_at.is_(None))).scalars()
            gone = [k for k in live if k not in keep]
            for start in range(0, len(gone), 1000):
                chunk = gone[start : start + 1000]
                conn.execute(table.update().where(key.in_(chunk)).values(retired_at=at))
        return len(gone)

    # --- reads ----------------------------------------------------------------------------
    def product(self, product_id: str) -> retail.Product | None:
        return self.products([product_id]).get(product_id)

    def products(self, ids: Sequence[str]) -> dict[str, retail.Product]:
        """The live products of ``ids`` that exist, by id."""
        with keyed_reads.reader(self.engine, "read products") as read:
            found = read.by_keys(P, "product_id", ids, order=("product_id",), live=True)
            return _with_related_of(read, found)

    def prices(self, now: dt.datetime) -> dict[str, tuple[float | None, float | None]]:
        """Each live product's price at ``now`` and, while a sale is on, the regular price it
        replaces (else None): five columns of every product, nothing else."""
        with self._begin("read prices") as conn:
            found = conn.execute(_PRICES).all()
        return {row[0]: _price_at(*row[1:], now) for row in found}

    def search(
        self,
        *,
        text: str | None = None,
        category: str | None = None,
        brand: str | None = None,
        group: str | None = None,
        limit: int = 50,
        after: str = "",
        cheaper: float | None = None,
        orderable: bool = False,
    ) -> list[retail.Product]:
        """Live products by id order: ``text`` in the title, brand or category (any case),
        ``category`` a prefix of the category path, ``brand`` exactly (any case), ``group``
        the variants of an ``item_group_id``, ``cheaper`` a price or sale price at most this,
        ``orderable`` not out of stock; at most ``limit``, ids above ``after``."""
        where = [P.c.product_id > after]
        if cheaper is not None:
            where.append(sa.or_(P.c.price <= cheaper, P.c.sale_price <= cheaper))
        if orderable:
            where.append(P.c.availability != "out_of_stock")
        if text:
            needle = text.lower()
            where.append(
                sa.or_(
                    *(
                        sa.func.lower(c).contains(needle, autoescape=True)
                        for c in (P.c.title, P.c.brand, P.c.category)
                    )
                )
            )
        if category:
            where.append(sa.func.lower(P.c.category).startswith(category.lower(), autoescape=True))
        if brand:
            where.append(sa.func.lower(P.c.brand) == brand.lower())
        if group:
            where.append(P.c.item_group_id == group)
        with self._begin("search products") as conn:
            found = _products(conn, sa.and_(*where), limit=min(limit, MAX_SEARCH))
        return list(found.values())

    def launches(self, since: dt.datetime, until: dt.datetime) -> list[retail.Product]:
        """Live products launching: on preorder, or available from a date in the window."""
        dated = sa.and_(P.c.availability_date >= since, P.c.availability_date < until)
        with self._begin("read launches") as conn:
            found = _products(conn, sa.or_(P.c.availability == "preorder", dated))
        return list(found.values())

    def stock_of(self, product_id: str) -> list[retail.Stock]:
        """Every location's line for one product, by store code."""
        query = sa.select(S).where(S.c.product_id == product_id).order_by(S.c.store_code)
        with self._begin("read stock") as conn:
            return [rows.stock(m) for m in _mappings(conn, query)]

    def stocks(self, ids: Sequence[str]) -> dict[str, list[retail.Stock]]:
        """Every location's line for each of ``ids`` (one query), by store code."""
        found: dict[str, list[retail.Stock]] = {pid: [] for pid in ids}
        with keyed_reads.reader(self.engine, "read stock") as read:
            lines = read.by_keys(S, "product_id", list(found), order=("product_id", "store_code"))
        for m in lines:
            found[m["product_id"]].append(rows.stock(m))
        return found

    def stock_at(self, store_code: str, ids: Sequence[str] | None = None) -> list[retail.Stock]:
        """One location's lines (of ``ids`` only, when given), by product id."""
        query = sa.select(S).where(S.c.store_code == store_code).order_by(S.c.product_id)
        if ids is not None:
            query = query.where(S.c.product_id.in_(list(ids)))
        with self._begin("read stock") as conn:
            return [rows.stock(m) for m in _mappings(conn, query)]

    def locations(self, kind: str | None = None) -> list[retail.Location]:
        query = sa.select(L).where(L.c.retired_at.is_(None)).order_by(L.c.store_code)
        if kind is not None:
            query = query.where(L.c.kind == kind)
        with self._begin("read locations") as conn:
            return [rows.location(m) for m in _mappings(conn, query)]

    def location(self, store_code: str) -> retail.Location | None:
        return next((x for x in self.locations() if x.store_code == store_code), None)

    def changes(self, ids: Sequence[str], since: dt.datetime) -> list[retail.Change]:
        """What changed for shoppers on products ``ids`` since ``since``, oldest first."""
        return [change for _, change in self.numbered_changes(ids, since)]

    def numbered_changes(
        self, ids: Sequence[str], since: dt.datetime
    ) -> list[tuple[int, retail.Change]]:
        """:meth:`changes` with each one's row number (the order of changes at one time)."""
        query = (
            sa.select(C)
            .where(C.c.product_id.in_(list(ids)), C.c.at >= since)
            .order_by(C.c.at, C.c.id)
        )
        with self._begin("read catalog changes") as conn:
            return [
                (m["id"], retail.Change(
                    m["product_id"], m["kind"], as_utc(m["at"]), m["store_code"], m["before"],
                    m["after"],
                ))
                for m in _mappings(conn, query)
            ]  # fmt: skip

    def watchers(self, ids: Sequence[str]) -> dict[str, list[str]]:
        """For each product of ``ids``, the live profiles that viewed it, each by one
        identifier to address it with (its user id if it has one, else an anonymous id),
        in profile order."""
        views, ident = tables.product_views, tables.identities
        query = (
            sa.select(views.c.product_id, views.c.profile_id, ident.c.identifier)
            .join(ident, ident.c.profile_id == views.c.profile_id)
            .where(views.c.product_id.in_(list(ids)))
            .order_by(views.c.product_id, views.c.profile_id, ident.c.identifier)
        )
        best: dict[tuple[str, str], str] = {}
        with self._begin("read who viewed products") as conn:
            for pid, profile, identifier in conn.execute(query):
                key, name = (str(pid), str(profile)), str(identifier)
                if name.startswith(_ADDRESSES) and _rank(name) < _rank(best.get(key, "")):
                    best[key] = name
        found: dict[str, list[str]] = {}
        for (pid, _), identifier in sorted(best.items()):
            found.setdefault(pid, []).append(identifier)
        return found

    def counts(self) -> dict[str, int]:
        """Live products, stock lines and live locations."""
        with self._begin("count the catalog") as conn:

            def count(table: sa.Table, *where: Any) -> int:
                query = sa.select(sa.func.count()).select_from(table).where(*where)
                return int(conn.execute(query).scalar_one())

            return {
                "products": count(P, P.c.retired_at.is_(None)),
                "stock": count(S),
                "locations": count(L, L.c.retired_at.is_(None)),
            }


_ADDRESSES: Final = ("user_id:", "anonymous_id:")


def _rank(identifier: str) -> int:
    """User ids before anonymous ids; anything else last."""
    for n, prefix in enumerate(_ADDRESSES):
        if identifier.startswith(prefix):
            return n
    return len(_ADDRESSES)


@functools.lru_cache(maxsize=64)
def _hashes(dialect: sa.Dialect, count: int) -> str:
    """The driver's statement for :meth:`Catalog.fingerprints` of ``count`` ids (through
    SQLAlchemy, its compilation cost as much as the read)."""
    quote = dialect.identifier_preparer.quote
    return (
        f"SELECT {driver_sql.names(dialect, ('product_id', 'feed_hash', 'retired_at'))} "
        f"FROM {quote(P.name)} WHERE {quote('product_id')} IN "
        f"({driver_sql.marks(dialect.name, count)})"
    )


def _price_at(
    price: float | None, sale: float | None, starts: Any, ends: Any, now: dt.datetime
) -> tuple[float | None, float | None]:
    starts, ends = (None if t is None else as_utc(t) for t in (starts, ends))
    return (sale, price) if retail.on_sale(sale, starts, ends, now) else (price, None)


def _mappings(conn: sa.Connection, query: Any, given: dict[str, Any] | None = None) -> list[Any]:
    return [r._mapping for r in conn.execute(query, given)]


def _products(
    conn: sa.Connection, where: Any, *, limit: int | None = None
) -> dict[str, retail.Product]:
    """The live products ``where`` says, by id, with their related lists."""
    live = sa.and_(where, P.c.retired_at.is_(None))
    query = sa.select(P).where(live).order_by(P.c.product_id).limit(limit)
    return _with_related(conn, _mappings(conn, query))


def _with_related(conn: sa.Connection, found: list[Any]) -> dict[str, retail.Product]:
    """Product rows as products, by id, with their related lists (one more query)."""
    if not found:
        return {}
    ids = [m["product_id"] for m in found]
    return _as_products(found, _mappings(conn, _RELATED, {"ids": ids}))


def _with_related_of(read: keyed_reads.Reader, found: list[Any]) -> dict[str, retail.Product]:
    """:func:`_with_related` through the driver."""
    ids = [m["product_id"] for m in found]
    return _as_products(found, read.by_keys(R, "product_id", ids, order=("product_id", "position")))


def _as_products(found: list[Any], lines: list[Any]) -> dict[str, retail.Product]:
    related: dict[str, list[retail.Related]] = {}
    for m in lines:
        related.setdefault(m["product_id"], []).append(retail.Related(m["related_id"], m["kind"]))
    return {
        m["product_id"]: rows.product(m, tuple(related.get(m["product_id"], ()))) for m in found
    }


def _record(conn: sa.Connection, changes: list[retail.Change]) -> None:
    found = [
        {
            "product_id": c.product_id,
            "store_code": c.store_code,
            "kind": c.kind,
            "before": c.before,
            "after": c.after,
            "at": c.at,
        }
        for c in changes
    ]
    insert_rows(conn, C, found)


def _relate(
    conn: sa.Connection,
    changed: Sequence[retail.Product],
    stored: set[str],
    lines: Sequence[dict[str, Any]] = (),
) -> None:
    """Replace the related lists of ``changed``; only ``stored`` products may have any.
    ``lines``: the related rows of new products, written with them."""
    gone = [p.id for p in changed if p.id in stored]
    if gone:
        conn.execute(R.delete().where(R.c.product_id.in_(gone)))
    found = [line for p in changed for line in rows.related_rows(p)]
    upsert_rows(conn, R, found + list(lines), ["product_id", "kind", "related_id"])
