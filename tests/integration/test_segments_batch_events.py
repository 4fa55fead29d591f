"""Batch changes of membership (apply, refresh) emit Segment Entered / Exited through the
engine, once per entry, and segment-entry journeys start for the profiles moved."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from juncture.cli.main import app
from juncture.core.journeys.catalog import Catalog
from juncture.definitions import journeys as journey_definitions
from juncture.runtime.engine import StaticJourneys
from juncture.runtime.segments import Segments
from juncture.store import tables
from tests.integration.test_segments_realtime import DEFINITIONS, OFFER, T0, World

HOUR = dt.timedelta(hours=1)
APPLIED = T0 + dt.timedelta(hours=5)
runner = CliRunner()


@pytest.fixture
def world(database_url: str) -> Iterator[World]:
    """Customers 0 and 1 match ``running`` (two Running views), 2 does not, before any
    segment exists; the offer journey triggers on entering ``running``."""
    journey = journey_definitions.loads(OFFER, "offer.yaml")
    w = World(database_url, T0, StaticJourneys(Catalog.of([journey])))
    _two_views(w)
    w.send(2, T0 + 3 * HOUR, "Product Viewed", "Boots")
    w.clock.set(APPLIED)
    w.segments = Segments(w.juncture.store.segments, w.juncture.segment_mover())
    yield w
    w.close()


def _two_views(w: World) -> None:
    for i, user in enumerate((0, 1, 0, 1)):
        w.send(user, T0 + (i + 1) * HOUR / 2, "Product Viewed", "Running")


def _enrollments(w: World) -> list[str]:
    e = tables.enrollments
    query = sa.select(e.c.profile_id).where(e.c.journey_id == "running_offer")
    with w.juncture.store.engine.connect() as conn:
        return sorted(r[0] for r in conn.execute(query))


def _pid(w: World, user: int) -> str:
    e = tables.events
    query = sa.select(e.c.profile_id).where(e.c.user_id == f"{w.run}-u{user}").limit(1)
    with w.juncture.store.engine.connect() as conn:
        return str(conn.execute(query).scalar_one())


def test_applying_a_segment_enters_matching_profiles_once_and_starts_their_journeys(
    world: World,
) -> None:
    a, b, c = (_pid(world, u) for u in (0, 1, 2))
    segment, done = world.segments.apply(DEFINITIONS[0], "running.yaml", APPLIED)
    assert (done.size, sorted(done.entered), done.exited) == (2, sorted([a, b]), ())
    entered = world.derived("Segment Entered")
    assert sorted(e["profile_id"] for e in entered) == sorted([a, b])
    assert {(e["segment_id"], e["segment_name"]) for e in entered} == {(segment.id, segment.name)}
    assert _enrollments(world) == sorted([a, b])
    assert sorted(o["profile_id"] for o in world.derived("Running Offer")) == sorted([a, b])
    assert world.realtime(segment.id, {a, b, c}) == sorted([a, b])

    again = world.segments.refresh(segment.id, APPLIED + HOUR)[segment.id]
    assert (again.size, again.entered, again.exited) == (2, (), ())
    assert len(world.derived("Segment Entered")) == 2
    assert _enrollments(world) == sorted([a, b])
    assert [h["entered"] for h in world.segments.history(segment.id)] == [2, 0]


def test_a_large_move_commits_a_chunk_at_a_time_with_one_size_row(world: World) -> None:
    """Each chunk of profiles is decided in a transaction of its own (ingestion goes in
    between); the result and the size history are those of one move."""
    a, b = _pid(world, 0), _pid(world, 1)
    mover = world.juncture.segment_mover()
    mover.chunk = 1
    transactions: list[object] = []
    run = mover.run
    mover.run = lambda process: transactions.append(run(process))
    world.segments = Segments(world.juncture.store.segments, mover)
    segment, done = world.segments.apply(DEFINITIONS[0], "running.yaml", APPLIED)
    assert len(transactions) == 3  # which profiles differ, then one per profile
    assert (done.size, sorted(done.entered), done.exited) == (2, sorted([a, b]), ())
    assert sorted(e["profile_id"] for e in world.derived("Segment Entered")) == sorted([a, b])
    assert _enrollments(world) == sorted([a, b])
    history = world.segments.history(segment.id)
    assert [(h["size"], h["entered"], h["exited"]) for h in history] == [(2, 2, 0)]
    transactions.clear()
    again = world.segments.refresh(segment.id, APPLIED + HOUR)[segment.id]
    assert (again.size, again.entered, len(transactions)) == (2, (), 2)  # nothing to move


def test_a_batch_entry_sets_the_window_timer_so_the_exit_comes_in_real_time(
    world: World,
) -> None:
    world.segments.apply(DEFINITIONS[0], "running.yaml", APPLIED)
    world.tick(T0 + dt.timedelta(days=3, hours=2))  # both customers' first view slid out
    exited = world.derived("Segment Exited")
    assert sorted(e["profile_id"] for e in exited) == sorted(_pid(world, u) for u in (0, 1))
    assert world.realtime("running", world.profiles()) == []


def test_a_member_the_real_time_path_recorded_is_not_entered_again(world: World) -> None:
    world.segments.apply(DEFINITIONS[0], "running.yaml", APPLIED)
    world.send(2, APPLIED + HOUR, "Product Viewed", "Running")
    world.send(2, APPLIED + 2 * HOUR, "Product Viewed", "Running")  # enters in real time
    c = _pid(world, 2)
    assert [e["profile_id"] for e in world.derived("Segment Entered")].count(c) == 1
    done = world.segments.refresh("running", APPLIED + 3 * HOUR)["running"]
    assert (done.size, done.entered, done.exited) == (3, (), ())
    assert [e["profile_id"] for e in world.derived("Segment Entered")].count(c) == 1
    assert _enrollments(world).count(c) == 1


def test_a_stale_batch_answer_is_decided_again_in_the_transaction(world: World) -> None:
    """The batch query runs before the writer's transaction: a profile it names that no
    longer matches (or never did) is not moved."""
    world.segments.apply(DEFINITIONS[0], "running.yaml", APPLIED, events=False)
    c = _pid(world, 2)
    segment = world.segments.definition("running")
    mover = world.juncture.segment_mover()
    done = mover.move(segment, [*world.realtime("running", world.profiles()), c], APPLIED)
    assert (done.entered, done.exited) == ((), ())
    assert world.derived("Segment Entered") == []


def test_no_events_fills_the_members_silently(world: World) -> None:
    _, done = world.segments.apply(DEFINITIONS[0], "running.yaml", APPLIED, events=False)
    assert done.size == 2
    assert world.derived("Segment Entered") == []
    assert _enrollments(world) == []


def test_the_cli_emits_entries_with_the_stored_journeys_unless_told_not_to(
    sqlite_url: str, tmp_path: Path
) -> None:
    w = World(sqlite_url, T0)
    try:
        w.juncture.store.journeys.apply(OFFER, "offer.yaml")
        _two_views(w)
        running, berlin = tmp_path / "running.yaml", tmp_path / "berlin.yaml"
        running.write_text(DEFINITIONS[0])
        berlin.write_text(DEFINITIONS[2])
        at = ["--at", APPLIED.isoformat(), "--database-url", sqlite_url]
        quiet = runner.invoke(app, ["segments", "apply", str(berlin), "--no-events", *at])
        assert quiet.exit_code == 0, quiet.output
        assert "berlin-or-cheap: 0 members, 0 entered" in quiet.output
        loud = runner.invoke(app, ["segments", "apply", str(running), *at])
        assert loud.exit_code == 0, loud.output
        assert "running: 2 members, 2 entered" in loud.output
        assert len(w.derived("Segment Entered")) == 2
        assert len(_enrollments(w)) == 2
        again = runner.invoke(app, ["segments", "refresh", "running", *at])
        assert "running: 2 members, 0 entered, 0 exited" in again.output
        assert len(w.derived("Segment Entered")) == 2
    finally:
        w.close()
