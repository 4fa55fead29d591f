"""Catalogue changes as events: a price drop or a return to stock, as an import brings it,
becomes a track event (``Product Price Dropped``, ``Product Back In Stock``) for every shopper
who viewed the product or has it on their wish list (``wishlisted``: true), through the same
ingestion as the shoppers' own events, so that journeys and segments react to it like to
anything else.

Each message's id names the change and the shopper: announcing the same change again stores
nothing new.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import msgspec
import orjson

from juncture.core import messages, retail
from juncture.core.retail_views import announcement
from juncture.runtime.ingest import Ingestor
from juncture.store.catalog import Catalog
from juncture.store.programme_wishes import Wishes

SOURCE: Final = "catalog"  # the source the events are stored under
CHUNK: Final = 500  # messages per commit


class Announcer:
    """Turns catalogue changes into events for the shoppers they concern."""

    def __init__(self, catalog: Catalog, ingestor: Ingestor) -> None:
        self.catalog = catalog
        self.ingestor = ingestor
        self.wishes = Wishes(catalog.engine)

    def __call__(self, changes: Sequence[retail.Change]) -> int:
        """Announce ``changes``; how many events were stored."""
        if not changes:
            return 0
        ids = sorted({c.product_id for c in changes})
        products = self.catalog.products(ids)
        watchers = self.catalog.watchers(ids)
        self.wishes.fold(self.ingestor.clock.now())
        wishers = self.wishes.wishers(ids)
        found = [
            announcement(change, products[change.product_id], who, wishlisted=who in listed)
            for change in changes
            if change.product_id in products
            for listed in [set(wishers.get(change.product_id, ()))]
            for who in sorted(set(watchers.get(change.product_id, ())) | listed)
        ]
        return tell(self.ingestor, found)


def tell(ingestor: Ingestor, found: Sequence[dict[str, Any]]) -> int:
    """Ingest track messages Juncture makes for shoppers (source :data:`SOURCE`), in
    commits of :data:`CHUNK`; how many were stored (a messageId seen before is not)."""
    stored = 0
    for start in range(0, len(found), CHUNK):
        chunk = [msgspec.Raw(orjson.dumps(m)) for m in found[start : start + CHUNK]]
        envelope = messages.Envelope(messages=chunk, path_prefix="$", single=False)
        stored += ingestor.ingest_sync(envelope, SOURCE).receipt.stored
    return stored
