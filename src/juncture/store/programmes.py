"""The retailer's programmes as a repository: upserts of feed rows (loyalty tiers and
accounts, promotions, coupons, associates, reviews) that say what changed, coupon
redemptions within their limit, and the reads placements and the API make.

A record is stored whole as JSON (``body``, msgspec's encoding of the
:mod:`juncture.core.offers` dataclass) beside the columns reads filter on.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Final

import msgspec
import sqlalchemy as sa

from juncture.core import engagement, offers
from juncture.definitions.programmes import Record
from juncture.store import keyed_reads
from juncture.store import programme_tables as t
from juncture.store.bulk import upsert_rows
from juncture.store.catalog import Repository


@dataclass(frozen=True, slots=True)
class _Kind:
    table: sa.Table
    key: str
    type: type[Any]
    columns: Callable[[Any], dict[str, Any]]


KINDS: Final = {
    "loyalty_tiers": _Kind(
        t.loyalty_tiers, "tier", offers.Tier, lambda r: {"threshold": r.threshold}
    ),
    "loyalty": _Kind(
        t.loyalty_accounts,
        "customer_id",
        offers.Account,
        lambda r: {"points": r.points, "tier": r.tier},
    ),
    "promotions": _Kind(
        t.promotions,
        "promotion_id",
        offers.Promotion,
        lambda r: {"starts": r.starts, "ends": r.ends},
    ),
    "coupons": _Kind(
        t.coupons,
        "coupon_id",
        offers.Coupon,
        lambda r: {
            "issuer_kind": r.issuer_kind,
            "starts": r.starts,
            "ends": r.ends,
            "redemption_limit": r.limit,
        },
    ),
    "associates": _Kind(
        t.associates, "associate_id", offers.Associate, lambda r: {"store_code": r.store_code}
    ),
    "reviews": _Kind(
        t.reviews,
        "review_id",
        offers.Review,
        lambda r: {"product_id": r.product_id, "rating": r.rating, "author_kind": r.author_kind},
    ),
    "store_events": _Kind(
        t.store_events,
        "event_id",
        engagement.StoreEvent,
        lambda r: {"store_code": r.store_code, "starts": r.starts, "ends": r.ends},
    ),
}
REDEEMED, ALREADY, LIMIT_REACHED, UNKNOWN = (
    "redeemed",
    "already_redeemed",
    "limit_reached",
    "unknown",
)


class Programmes(Repository):
    """The programme tables of one store's engine. Every method is one transaction."""

    def upsert(self, kind: str, batch: Sequence[Record], at: dt.datetime) -> list[tuple[Any, Any]]:
        """Insert or update records of ``kind`` by their id; the (before, after) that changed."""
        spec = KINDS[kind]
        key = spec.table.c[spec.key]
        latest = {getattr(r, spec.key): r for r in batch}
        with self._begin(f"write {kind}") as conn:
            before = {
                k: _decode(body, spec.type)
                for k, body in conn.execute(
                    sa.select(key, spec.table.c.body).where(key.in_(list(latest)))
                )
            }
            changed = [(before.get(k), r) for k, r in latest.items() if before.get(k) != r]
            if changed:
                found = [
                    {spec.key: getattr(r, spec.key), **spec.columns(r), "updated_at": at}
                    | {"body": msgspec.json.encode(r).decode()}
                    for _, r in changed
                ]
                upsert_rows(conn, spec.table, found, [spec.key])
        return changed

    def _all(self, kind: str, *where: Any, order: Any = None) -> list[Any]:
        spec = KINDS[kind]
        query = sa.select(spec.table.c.body).where(*where)
        query = query.order_by(order if order is not None else spec.table.c[spec.key])
        with self._begin(f"read {kind}") as conn:
            return [_decode(body, spec.type) for body in conn.execute(query).scalars()]

    def tiers(self) -> list[offers.Tier]:
        return self._all("loyalty_tiers", order=t.loyalty_tiers.c.threshold)

    def account(self, customer_id: str) -> offers.Account | None:
        """The member's account (through the driver: every loyalty answer reads one)."""
        spec = KINDS["loyalty"]
        with keyed_reads.reader(self.engine, "read loyalty") as read:
            found = read.by_keys(spec.table, spec.key, [customer_id])
        return _decode(found[0]["body"], spec.type) if found else None

    def promotions(self, now: dt.datetime | None = None) -> list[offers.Promotion]:
        """Every promotion, or those running at ``now``."""
        found: list[offers.Promotion] = self._all("promotions")
        return [p for p in found if now is None or offers.active(p.starts, p.ends, now)]

    def coupons(self, now: dt.datetime | None = None) -> list[offers.Coupon]:
        found: list[offers.Coupon] = self._all("coupons")
        return [c for c in found if now is None or offers.active(c.starts, c.ends, now)]

    def associates(self, store_code: str | None = None) -> list[offers.Associate]:
        where = [] if store_code is None else [t.associates.c.store_code == store_code]
        return self._all("associates", *where)

    def reviews(self, product_id: str) -> list[offers.Review]:
        return self._all("reviews", t.reviews.c.product_id == product_id)

    def store_events(
        self, since: dt.datetime | None = None, ids: Sequence[str] | None = None
    ) -> list[engagement.StoreEvent]:
        """Events that end (or start) after ``since``, or those of ``ids``; soonest first."""
        e = t.store_events
        where = []
        if since is not None:
            where.append(sa.func.coalesce(e.c.ends, e.c.starts) >= since)
        if ids is not None:
            where.append(e.c.event_id.in_(list(ids)))
        return self._all("store_events", *where, order=e.c.starts)

    def redemptions(self, coupon_ids: Sequence[str] | None = None) -> dict[str, int]:
        """Redemptions so far, by coupon."""
        r = t.coupon_redemptions
        query = sa.select(r.c.coupon_id, sa.func.count()).group_by(r.c.coupon_id)
        if coupon_ids is not None:
            query = query.where(r.c.coupon_id.in_(list(coupon_ids)))
        with self._begin("read redemptions") as conn:
            return {str(k): int(n) for k, n in conn.execute(query)}

    def redeem(
        self, coupon_id: str, redemption_id: str, customer_id: str | None, at: dt.datetime
    ) -> str:
        """Record one redemption within the coupon's limit: ``redeemed``,
        ``already_redeemed`` (this redemption id was recorded), ``limit_reached`` or
        ``unknown``. The count and the insert are one statement, and on PostgreSQL the coupon's
        row is locked first, so two concurrent redemptions never pass the limit together."""
        r, c = t.coupon_redemptions, t.coupons
        with self._begin("redeem a coupon") as conn:
            query = sa.select(c.c.redemption_limit).where(c.c.coupon_id == coupon_id)
            if conn.dialect.name == "postgresql":
                query = query.with_for_update()  # concurrent redemptions queue here
            row = conn.execute(query).one_or_none()
            if row is None:
                return UNKNOWN
            mine = sa.and_(r.c.coupon_id == coupon_id, r.c.redemption_id == redemption_id)
            if conn.execute(sa.select(sa.func.count()).where(mine)).scalar_one():
                return ALREADY
            # one statement counts and inserts: on SQLite it runs under the write lock
            used = sa.select(sa.func.count()).where(r.c.coupon_id == coupon_id).scalar_subquery()
            values = sa.select(
                sa.literal(coupon_id), sa.literal(redemption_id), sa.literal(customer_id),
                sa.literal(at, sa.DateTime(timezone=True)),
            ).where(sa.or_(sa.literal(row[0]).is_(None), used < row[0]))  # fmt: skip
            columns = ["coupon_id", "redemption_id", "customer_id", "at"]
            insert = r.insert().from_select(columns, values).returning(r.c.redemption_id)
            if not conn.execute(insert).all():
                return LIMIT_REACHED
        return REDEEMED


def _decode(body: str, kind: type[Any]) -> Any:
    return msgspec.json.decode(body, type=kind)
