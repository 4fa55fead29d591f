"""Impressions recorded in group commits, on every store: many requests at once each get
their own row, a key recorded before (or by another request in the same commit) answers
None, and nothing is recorded twice."""

from __future__ import annotations

import datetime as dt
from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from juncture.core.journeys.orchestrate import Message
from juncture.runtime.impressions import Impressions
from juncture.store import tables
from juncture.store.placements import Placements
from juncture.store.sql import SqlStore

NOW = dt.datetime(2026, 12, 2, 10, tzinfo=dt.UTC)


def shown(key: str) -> Message:
    payload = {"placement": "specs", "kind": "specs"}
    return Message(key, "p1", "onsite", "transactional", NOW, payload, status="shown")


def test_impressions_at_once_are_each_recorded_once(store: SqlStore) -> None:
    impressions = Impressions(Placements(store.engine))
    keys = [f"k{n % 40}" for n in range(120)]  # each key asked three times
    with ThreadPoolExecutor(16) as pool:
        rows = list(pool.map(lambda k: impressions.record(shown(k)), keys))
    recorded = [r for r in rows if r is not None]
    assert sorted(r.idempotency_key for r in recorded) == sorted({*keys})
    assert len({r.id for r in recorded}) == 40
    with store.engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(tables.outbox)).scalar()
    assert count == 40
    assert impressions.record(shown("k1")) is None  # recorded before
