"""The retailer's tables as the shopper-facing reads see them: kept in memory in each serve
process, so that ``POST /v1/decide`` and ``GET /v1/recommendations`` do not read the same
products, stock lines, locations and offers from the database on every request.

:class:`ReadCache` holds what was read, each entry under the
:class:`~juncture.store.generations.Generation` it was read at. Everything is forgotten
when a write to the retailer's tables commits in this process (an import, a stock level or
a price over the admin API, a coupon redeemed: the next read sees it), and at the latest
``seconds`` after it was read (writes by another process on the same database: a
``juncture catalog import`` run beside the server). ``seconds`` 0 reads the database every
time. :class:`CachedCatalog` and :class:`CachedProgrammes` answer exactly what
:class:`~juncture.store.catalog.Catalog` and :class:`~juncture.store.programmes.Programmes`
answer, from it.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from typing import Any, Final, TypeVar

from juncture.core import engagement, offers, retail
from juncture.store.catalog import Catalog
from juncture.store.generations import Generation
from juncture.store.programmes import Programmes

MOST: Final = 200_000  # entries kept, at most (past it, everything is read again)
WATCHED: Final = (
    "products", "related_products", "stock", "locations", "catalog_changes", "loyalty_tiers",
    "loyalty_accounts", "promotions", "coupons", "coupon_redemptions", "associates",
    "reviews", "store_events",
)  # fmt: skip
V = TypeVar("V")
_MISSING: Final = object()  # not kept
_ABSENT: Final = object()  # kept: the database has none


class ReadCache:
    """Values by key, valid while no watched write committed and for ``seconds`` at most."""

    def __init__(self, generation: Generation, seconds: float, most: int = MOST) -> None:
        self.generation = generation
        self.seconds = seconds
        self.most = most
        self._entries: dict[Hashable, Any] = {}
        self._at = -1
        self._until = 0.0
        self._lock = threading.Lock()

    def _current(self) -> int:
        """The generation entries are valid at; forgets everything when it moved or expired."""
        now, seen = time.monotonic(), self.generation.value
        if seen != self._at or now >= self._until or len(self._entries) > self.most:
            with self._lock:
                self._entries = {}
                self._at, self._until = seen, now + self.seconds
        return seen

    def _keep(self, at: int, found: Mapping[Hashable, Any]) -> None:
        with self._lock:
            if at == self._at:  # else a write committed while reading: keep nothing
                self._entries.update(found)

    def one(self, key: Hashable, load: Callable[[], V]) -> V:
        """The value of ``key``, loaded when not kept."""
        if self.seconds <= 0:
            return load()
        at = self._current()
        found = self._entries.get(key, _MISSING)
        if found is _MISSING:
            found = load()
            self._keep(at, {key: found})
        return found  # type: ignore[no-any-return]

    def many(
        self, kind: str, keys: Iterable[Hashable], load: Callable[[list[Any]], Mapping[Any, V]]
    ) -> dict[Any, V]:
        """The values of ``keys`` (``kind`` names the family), the missing ones loaded in one
        call of ``load`` (which answers by key; a key it leaves out is kept as absent)."""
        wanted = list(dict.fromkeys(keys))
        if self.seconds <= 0:
            return dict(load(wanted))
        at = self._current()
        entries = self._entries
        found = {k: entries.get((kind, k), _MISSING) for k in wanted}
        missing = [k for k, v in found.items() if v is _MISSING]
        if missing:
            loaded = load(missing)
            fresh = {k: loaded.get(k, _ABSENT) for k in missing}
            self._keep(at, {(kind, k): v for k, v in fresh.items()})
            found.update(fresh)
        return {k: v for k, v in found.items() if v is not _ABSENT}


def watch(catalog: Catalog) -> Generation:
    """The generation of the retailer's tables on ``catalog``'s database (one per database
    and process)."""
    return Generation(catalog.engine, WATCHED)


class CachedCatalog(Catalog):
    """:class:`~juncture.store.catalog.Catalog` with its reads kept in a :class:`ReadCache`."""

    def __init__(self, tables: Catalog | Programmes, cache: ReadCache) -> None:
        super().__init__(tables.engine)
        self.cache = cache

    def products(self, ids: Sequence[str]) -> dict[str, retail.Product]:
        found = self.cache.many("product", ids, super().products)
        return {pid: found[pid] for pid in sorted(found)}  # by id, as the database answers

    def stocks(self, ids: Sequence[str]) -> dict[str, list[retail.Stock]]:
        found = self.cache.many("stock", ids, super().stocks)
        return {pid: list(found[pid]) for pid in dict.fromkeys(ids)}

    def stock_at(self, store_code: str, ids: Sequence[str] | None = None) -> list[retail.Stock]:
        if ids is None:
            key = ("stock_at", store_code)
            return list(self.cache.one(key, lambda: Catalog.stock_at(self, store_code)))

        def load(missing: list[str]) -> dict[str, retail.Stock]:
            return {s.product_id: s for s in Catalog.stock_at(self, store_code, missing)}

        found = self.cache.many(f"stock_at:{store_code}", ids, load)
        return [found[pid] for pid in sorted(found)]

    def locations(self, kind: str | None = None) -> list[retail.Location]:
        return list(self.cache.one(("locations", kind), lambda: Catalog.locations(self, kind)))

    def search(self, **given: Any) -> list[retail.Product]:
        key = ("search", *sorted(given.items()))
        return list(self.cache.one(key, lambda: Catalog.search(self, **given)))

    def numbered_changes(
        self, ids: Sequence[str], since: dt.datetime
    ) -> list[tuple[int, retail.Change]]:
        """Kept per product with the ``since`` they were read from: a later ``since`` (the
        same window, a little later) is answered by leaving the older ones out."""

        def load(missing: list[str]) -> dict[str, tuple[dt.datetime, list[Any]]]:
            found: dict[str, tuple[dt.datetime, list[Any]]] = {p: (since, []) for p in missing}
            for numbered in Catalog.numbered_changes(self, missing, since):
                found[numbered[1].product_id][1].append(numbered)
            return found

        kept = self.cache.many("changes", ids, load)
        stale = [pid for pid, (read, _) in kept.items() if read > since]
        if stale:  # an earlier window than kept: read these again
            kept.update(load(stale))
        merged = [n for _, lines in kept.values() for n in lines if n[1].at >= since]
        return sorted(merged, key=lambda n: (n[1].at, n[0]))


class CachedProgrammes(Programmes):
    """:class:`~juncture.store.programmes.Programmes` with its reads kept in a
    :class:`ReadCache` (promotions, coupons and store events read whole, then filtered by
    the time asked, as the database would)."""

    def __init__(self, tables: Catalog | Programmes, cache: ReadCache) -> None:
        super().__init__(tables.engine)
        self.cache = cache

    def tiers(self) -> list[offers.Tier]:
        return list(self.cache.one("tiers", lambda: Programmes.tiers(self)))

    def account(self, customer_id: str) -> offers.Account | None:
        return self.cache.one(
            ("account", customer_id), lambda: Programmes.account(self, customer_id)
        )

    def promotions(self, now: dt.datetime | None = None) -> list[offers.Promotion]:
        every = self.cache.one("promotions", lambda: Programmes.promotions(self))
        return [p for p in every if now is None or offers.active(p.starts, p.ends, now)]

    def coupons(self, now: dt.datetime | None = None) -> list[offers.Coupon]:
        every = self.cache.one("coupons", lambda: Programmes.coupons(self))
        return [c for c in every if now is None or offers.active(c.starts, c.ends, now)]

    def associates(self, store_code: str | None = None) -> list[offers.Associate]:
        key = ("associates", store_code)
        return list(self.cache.one(key, lambda: Programmes.associates(self, store_code)))

    def reviews(self, product_id: str) -> list[offers.Review]:
        return list(
            self.cache.one(("reviews", product_id), lambda: Programmes.reviews(self, product_id))
        )

    def store_events(
        self, since: dt.datetime | None = None, ids: Sequence[str] | None = None
    ) -> list[engagement.StoreEvent]:
        if ids is not None:
            return Programmes.store_events(self, since, ids)
        every = self.cache.one("store_events", lambda: Programmes.store_events(self))
        return [e for e in every if since is None or (e.ends or e.starts) >= since]

    def redemptions(self, coupon_ids: Sequence[str] | None = None) -> dict[str, int]:
        if coupon_ids is None:
            return dict(self.cache.one("redemptions", lambda: Programmes.redemptions(self)))
        found = self.cache.many("redeemed", coupon_ids, lambda c: Programmes.redemptions(self, c))
        return {k: n for k, n in found.items() if n}
