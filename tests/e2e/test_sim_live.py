"""The simulator drives a live server over HTTP, through the Segment-compatible API."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import sqlalchemy as sa

from juncture.settings import source_of
from juncture.sim import SimConfig, Simulation
from juncture.sim.http import send_live
from juncture.store import tables
from tests.conftest import WRITE_KEY, LiveServer


def test_simulated_shoppers_reach_a_live_server(live: LiveServer) -> None:
    sim = Simulation(
        SimConfig(start=dt.datetime(2026, 3, 2, tzinfo=dt.UTC), seed=3, customers=80, days=5)
    )
    messages = [m for batch in sim.iter_batches(dt.timedelta(hours=6)) for m in batch]
    assert len(messages) > 300

    report = send_live(live.url, WRITE_KEY, messages, batch_size=50)

    assert (report.failed, report.sent) == (0, len(messages))
    assert report.statuses == {200: report.batches}
    e = tables.events
    store = live.juncture.store
    with store.engine.connect() as conn:
        stored = Counter(
            str(name)
            for (name,) in conn.execute(
                sa.select(sa.func.coalesce(e.c.event, e.c.type)).where(
                    e.c.source == source_of(WRITE_KEY)
                )
            )
        )
    assert stored == Counter(m.get("event") or m["type"] for m in messages)
    again = send_live(live.url, WRITE_KEY, messages[:100], batch_size=50)  # a client retry
    assert again.failed == 0
    with store.engine.connect() as conn:
        total = conn.execute(
            sa.select(sa.func.count()).where(e.c.source == source_of(WRITE_KEY))
        ).scalar_one()
    assert total == len(messages)
