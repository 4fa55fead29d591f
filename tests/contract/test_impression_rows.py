"""An impression recorded in a group commit answers the row exactly as the outbox stores it
(without reading it back), and a key recorded before (or twice in one commit) answers None.
On SQLite and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from typing import Any

from juncture.core.journeys.orchestrate import Message
from juncture.store.outbox import ONSITE
from juncture.store.sql import SqlStore

NOW = dt.datetime(2026, 12, 6, 12, 30, 15, 123456, tzinfo=dt.UTC)


def _shown(key: str, payload: dict[str, Any]) -> Message:
    return Message(
        key, "p1", ONSITE, "marketing", NOW, payload, "onsite_welcome", status="shown",
        journey_id="welcome", journey_version=2, node_id="popover",
    )  # fmt: skip


def test_recorded_rows_equal_the_stored_rows(store: SqlStore) -> None:
    payload = {"kind": "welcome", "data": {"products": ("P1", "P2"), "price": 9.5}}
    first = store.placements.record_shown_many(
        [_shown("a", payload), _shown("b", {"kind": "survey"}), _shown("a", payload)]
    )
    again = store.placements.record_shown_many([_shown("b", {"kind": "survey"})])
    assert first[2] is None and again == [None]
    for row in first[:2]:
        assert row is not None
        assert row == store.outbox.get(row.id)
    assert first[0] is not None and first[0].payload["data"] == {
        "products": ["P1", "P2"],
        "price": 9.5,
    }
