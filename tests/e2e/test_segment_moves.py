"""Entries and exits of a segment per day, as they happened, on every database: read from the
engine's Segment Entered and Segment Exited signals of that segment only, in the period."""

from __future__ import annotations

import datetime as dt
import json

from juncture.core.journeys.spec import SEGMENT_ENTERED, SEGMENT_EXITED
from juncture.core.profile.reducer import DERIVED_SOURCE
from juncture.store import tables
from juncture.store.sql import SqlStore

DAY = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)


def signal(
    n: int, name: str, segment: str, at: dt.datetime, source: str = DERIVED_SOURCE
) -> dict[str, object]:
    body = {"type": "track", "event": name, "properties": {"segment_id": segment}}
    return {
        "source": source, "message_id": f"m{n}", "type": "track", "event": name,
        "timestamp": at, "received_at": at, "body": json.dumps(body), "profile_id": f"p{n % 3}",
    }  # fmt: skip


def test_moves_are_counted_per_day_for_one_segment(store: SqlStore) -> None:
    later = DAY + dt.timedelta(days=1)
    rows = [
        signal(1, SEGMENT_ENTERED, "vip", DAY),
        signal(2, SEGMENT_ENTERED, "vip", DAY + dt.timedelta(hours=3)),
        signal(3, SEGMENT_EXITED, "vip", later),
        signal(4, SEGMENT_ENTERED, "other", DAY),  # another segment
        signal(5, SEGMENT_ENTERED, "vip", DAY, source="web"),  # not the engine's
        signal(6, SEGMENT_ENTERED, "vip", DAY - dt.timedelta(days=40)),  # before the period
    ]
    with store.engine.begin() as conn:
        conn.execute(tables.events.insert(), rows)
    moves = store.dashboard.segment_moves(
        "vip", DAY - dt.timedelta(days=30), later + dt.timedelta(days=1)
    )
    assert moves == [("2026-03-02", 2, 0), ("2026-03-03", 0, 1)]
    assert store.dashboard.segment_moves("nobody", DAY, later) == []
