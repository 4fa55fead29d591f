"""Catalogue changes as events: a price drop or a return to stock, as an import brings it,
becomes a track event (``Product Price Dropped``, ``Product Back In Stock``) for every shopper
who viewed the product, through the same ingestion as the shoppers' own events, so that
journeys and segments react to it like to anything else.

Each message's id names the change and the shopper: announcing the same change again stores
nothing new.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import msgspec
import orjson

from juncture.core import messages, retail
from juncture.core.retail_views import announcement
from juncture.runtime.ingest import Ingestor
from juncture.store.catalog import Catalog

SOURCE: Final = "catalog"  # the source the events are stored under
CHUNK: Final = 500  # messages per commit


class Announcer:
    """Turns catalogue changes into events for the shoppers they concern."""

    def __init__(self, catalog: Catalog, ingestor: Ingestor) -> None:
        self.catalog = catalog
        self.ingestor = ingestor

    def __call__(self, changes: Sequence[retail.Change]) -> int:
        """Announce ``changes``; how many events were stored."""
        if not changes:
            return 0
        ids = sorted({c.product_id for c in changes})
        products = self.catalog.products(ids)
        watchers = self.catalog.watchers(ids)
        found = [
            orjson.dumps(announcement(change, products[change.product_id], who))
            for change in changes
            if change.product_id in products
            for who in watchers.get(change.product_id, ())
        ]
        stored = 0
        for start in range(0, len(found), CHUNK):
            chunk = [msgspec.Raw(raw) for raw in found[start : start + CHUNK]]
            envelope = messages.Envelope(messages=chunk, path_prefix="$", single=False)
            stored += self.ingestor.ingest_sync(envelope, SOURCE).receipt.stored
        return stored
