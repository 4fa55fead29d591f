"""Each customer's orders as the profile keeps them: what lifetime value is computed from.

The profile reducer already deduplicates orders by id and folds in the orders of merged
profiles, so the live profiles' own order lists are the truth; this reads only them, not
the events. Bodies are decoded into their ``orders`` field alone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Final

import msgspec
import sqlalchemy as sa

from juncture.core.profile.model import Order
from juncture.store import failures, tables

_P: Final = tables.profiles
BATCH: Final = 2000


class _Orders(msgspec.Struct):
    orders: dict[str, Order] = {}


_decoder: Final = msgspec.json.Decoder(_Orders)


@dataclass(frozen=True, slots=True)
class OrderHistory:
    """A live profile's orders: (when, revenue), oldest first."""

    profile_id: str
    orders: tuple[tuple[dt.datetime, float], ...]


class CustomerOrders:
    """Reads of customers' order histories over one SQL store (``SqlStore.customer_orders``)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine

    def _connect(self) -> AbstractContextManager[sa.Connection]:
        return failures.connection(self.engine)

    def histories(self) -> Iterator[OrderHistory]:
        """Every live profile with at least one order, by profile id, read in batches."""
        query = (
            sa.select(_P.c.profile_id, _P.c.body)
            .where(_P.c.redirect_to.is_(None), _P.c.order_count > 0, _P.c.body.is_not(None))
            .order_by(_P.c.profile_id)
        )
        with self._connect() as conn:
            rows = conn.execution_options(yield_per=BATCH).execute(query)
            for profile_id, body in rows:
                orders = _decoder.decode(body).orders.values()
                if orders:
                    ordered = sorted((o.at, o.revenue) for o in orders)
                    yield OrderHistory(profile_id, tuple(ordered))
