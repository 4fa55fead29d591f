"""The engine behind the log (``JUNCTURE_ENGINE_MODE=behind``): ingestion commits and
answers without the engine; the follower applies the log after it, exactly once, in order,
through restarts, a poisoned event and a second follower on the same log."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa

from juncture import wiring
from juncture.core import messages
from juncture.errors import PositionMoved
from juncture.runtime.clock import ManualClock
from juncture.runtime.engine import Engine
from juncture.runtime.engine_process import EngineProcess
from juncture.runtime.erasure import Eraser
from juncture.runtime.follower import ENGINE, LogFollower
from juncture.store import tables
from juncture.store.sql import SqlStore
from tests.conftest import settings_for

T0 = dt.datetime(2026, 11, 27, 9, 0, tzinfo=dt.UTC)
SOURCE = "web"


def _batch(start: int, count: int, shoppers: int = 7) -> messages.Envelope:
    body = {
        "batch": [
            {
                "type": "track",
                "event": "Product Viewed",
                "messageId": f"m{n}",
                "anonymousId": f"anon-{n % shoppers}",
                "timestamp": (T0 + dt.timedelta(seconds=n)).isoformat(),
                "properties": {"product_id": f"P{n % 5}", "price": 10.5},
            }
            for n in range(start, start + count)
        ]
    }
    return messages.parse_batch(msgspec.json.encode(body))


@pytest.fixture
def behind(database_url: str) -> Iterator[wiring.Juncture]:
    juncture = wiring.build(
        settings_for(
            database_url, engine_mode="behind", engine_process=False, engine_batch_events=50
        ),
        clock=ManualClock(T0 + dt.timedelta(days=1)),
    )
    yield juncture
    juncture.close()


def _applied(store: SqlStore) -> dict[str, Any]:
    """Per anonymous id: the events counted on its profile, and the client events stored."""
    e = tables.events
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(e.c.anonymous_id, e.c.profile_id).where(e.c.source == SOURCE)
        ).all()
    reads = store.profiles
    out: dict[str, Any] = {}
    for anonymous_id, profile_id in rows:
        assert profile_id is not None, "a client event the engine never applied"
        found = reads.profile(profile_id)
        assert found is not None
        seen = out.setdefault(anonymous_id, [found.profile.event_counts, 0])
        seen[1] += 1
    return {a: (counts.get("Product Viewed", 0), n) for a, (counts, n) in out.items()}


def test_ingestion_answers_before_the_engine_and_the_engine_applies_each_event_once(
    behind: wiring.Juncture,
) -> None:
    assert behind.follower is not None
    for start in range(0, 400, 100):
        outcome = behind.ingestor.ingest_sync(_batch(start, 100), SOURCE)
        assert outcome.receipt.stored == 100
    again = behind.ingestor.ingest_sync(_batch(0, 100), SOURCE)  # a client's retry
    assert again.receipt.duplicates == 100
    assert behind.follower.wait_for(behind.committer.head, 60)
    applied = _applied(behind.store)
    assert sum(n for _, n in applied.values()) == 400
    for counted, stored in applied.values():
        assert counted == stored  # each event counted once on its profile, none twice
    assert behind.store.log_positions.position(ENGINE) == behind.committer.head
    assert behind.store.log_positions.behind(behind.follower.position).events == 0


def test_a_restarted_engine_goes_on_from_its_committed_position(database_url: str) -> None:
    first = wiring.build(settings_for(database_url, engine_mode="behind", engine_process=False))
    first.ingestor.ingest_sync(_batch(0, 120), SOURCE)
    assert first.follower is not None and first.follower.wait_for(first.committer.head, 60)
    first.close()
    ingest_only = wiring.build(settings_for(database_url, engine=False))
    ingest_only.ingestor.ingest_sync(_batch(120, 80), SOURCE)  # accepted while it is down
    ingest_only.close()
    store = SqlStore(database_url)
    assert store.log_positions.position(ENGINE) == 120  # m0..m119 are seq 1..120
    store.close()
    second = wiring.build(settings_for(database_url, engine_mode="behind", engine_process=False))
    try:
        assert second.follower is not None
        assert second.follower.wait_for(second.committer.head, 60)
        applied = _applied(second.store)
    finally:
        second.close()
    assert sum(n for _, n in applied.values()) == 200
    assert all(counted == stored for counted, stored in applied.values())


def test_an_event_the_engine_cannot_apply_is_quarantined_and_the_rest_applied(
    behind: wiring.Juncture, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = behind.engine
    original = Engine._work  # what process and plan both run

    def failing(self: Engine, state: Any, events: list[Any], *args: Any) -> Any:
        if any(e.message_id == "m37" for e in events):
            raise ValueError("the engine cannot take m37")
        return original(self, state, events, *args)

    monkeypatch.setattr(Engine, "_work", failing)
    behind.ingestor.ingest_sync(_batch(0, 100), SOURCE)
    assert behind.follower is not None and behind.follower.wait_for(behind.committer.head, 60)
    assert engine is behind.engine
    [row] = behind.store.failed()
    assert (row.code, row.message_id) == ("unprocessable", "m37")
    assert "cannot take m37" in row.reason
    applied = _applied_except(behind.store, "m37")
    assert applied == 99


def _applied_except(store: SqlStore, message_id: str) -> int:
    e = tables.events
    with store.engine.connect() as conn:
        rows = conn.execute(
            sa.select(e.c.message_id, e.c.profile_id).where(e.c.source == SOURCE)
        ).all()
    assert {m for m, p in rows if p is None} == {message_id}
    return sum(1 for _, p in rows if p is not None)


def test_a_second_engine_on_the_same_log_stops_instead_of_applying_twice(
    behind: wiring.Juncture,
) -> None:
    assert behind.follower is not None
    behind.ingestor.ingest_sync(_batch(0, 10), SOURCE)
    assert behind.follower.wait_for(behind.committer.head, 60)
    stale = LogFollower(behind.store, behind.store.log_positions, behind.engine, behind.clock)
    stale.position = 3  # it believes it stands where the log was, three events in
    writer = behind.store.writer()
    try:
        with pytest.raises(PositionMoved):
            stale._apply(writer, behind.store.events(after_seq=3, limit=5, derived=False))
    finally:
        writer.close()
    applied = _applied(behind.store)
    assert all(counted == stored for counted, stored in applied.values())


def test_an_erasure_runs_on_the_engine_s_writer_between_batches(
    behind: wiring.Juncture,
) -> None:
    """A batch change (here an erasure) goes through the follower, so it never races the
    engine's own commits; the erased profile's events are not applied to it again."""
    assert behind.follower is not None
    behind.ingestor.ingest_sync(_batch(0, 20), SOURCE)
    assert behind.follower.wait_for(behind.committer.head, 60)
    [victim] = behind.store.events(anonymous_id="anon-3", limit=1)
    assert victim.profile_id is not None
    eraser = Eraser(behind.follower.run_sync, behind.clock)
    erased = eraser.erase(victim.profile_id, "ticket-1")
    assert erased is not None and victim.profile_id in erased.profiles
    assert behind.store.profiles.profile(victim.profile_id) is None
    assert behind.follower.tick_sync().duplicates == 0  # the writer works on after it


def test_the_engine_process_runs_once_it_said_it_applies_the_log(sqlite_url: str) -> None:
    """``juncture serve``'s engine is running (``/readyz``, read-your-writes) from the moment
    the child says it applies the log, not from its start: it spends seconds importing."""
    process = EngineProcess({"JUNCTURE_DATABASE_URL": sqlite_url})
    process.start()
    try:
        assert not process.alive()
        deadline = time.monotonic() + 120
        while not process.alive():
            assert time.monotonic() < deadline, "the engine never said it runs"
            time.sleep(0.05)
    finally:
        process.stop()
    assert not process.alive()
