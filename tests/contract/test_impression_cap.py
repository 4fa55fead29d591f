"""The on-site frequency cap counts marketing impressions only: answers the page asked for
(recommendation slots, touchpoints: purpose transactional) are recorded but never count, so
a product page with slots does not use up the day's popovers. On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt

from juncture.core.journeys.orchestrate import Message
from juncture.store.outbox import ONSITE
from juncture.store.sql import SqlStore

NOW = dt.datetime(2026, 12, 6, 12, tzinfo=dt.UTC)


def _shown(key: str, purpose: str, at: dt.datetime) -> Message:
    return Message(key, "p1", ONSITE, purpose, at, {"kind": key}, "onsite_welcome", status="shown")


def test_only_marketing_impressions_count_toward_the_cap(store: SqlStore) -> None:
    placements = store.placements
    recorded = placements.record_shown_many(
        [
            _shown("slot-1", "transactional", NOW),
            _shown("slot-2", "transactional", NOW),
            _shown("stock", "transactional", NOW),
            _shown("welcome", "marketing", NOW),
            _shown("yesterday", "marketing", NOW - dt.timedelta(days=1, hours=1)),
        ]
    )
    assert all(row is not None for row in recorded)
    assert placements.shown_since("p1", NOW - dt.timedelta(days=1)) == 1
    assert placements.shown_since("p1", NOW - dt.timedelta(days=2)) == 2
    assert placements.shown_since("p2", NOW - dt.timedelta(days=2)) == 0
