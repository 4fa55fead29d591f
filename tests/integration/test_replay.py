"""``juncture replay``: the state rebuilt from the log equals the state built event by event,
and timers fire at the same event-time moments, on every store."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from juncture import wiring
from juncture.cli.main import app
from juncture.demo import harness
from juncture.runtime import replay
from juncture.runtime.clock import ManualClock
from juncture.store import tables
from juncture.store.sql import SqlStore
from tests.conftest import settings_for

runner = CliRunner()


def simulate(database_url: str, *, customers: int, days: int) -> dt.datetime:
    """A simulated retailer through the live pipeline (group commits, manual clock that
    follows the simulation); returns where its clock ended."""
    clock = ManualClock(harness.DEMO_START)
    # inline, as the demo runs the simulation: each event applied at its moment of event time
    juncture = wiring.build(settings_for(database_url, engine_mode="inline"), clock=clock)
    try:
        harness.run(juncture, clock, seed=5, customers=customers, days=days)
    finally:
        juncture.close()
    return clock.now()


def snapshot(store: SqlStore) -> dict[str, Any]:
    """The engine state, less what depends on when it was written (stage, updated_at)."""
    p, m, c, t = tables.profiles, tables.merges, tables.identity_conflicts, tables.timers
    e = tables.events
    with store.engine.connect() as conn:

        def rows(query: Any) -> list[tuple[Any, ...]]:
            return [tuple(r) for r in conn.execute(query)]

        return {
            "profiles": rows(
                sa.select(p.c.profile_id, p.c.redirect_to, p.c.node, p.c.body).order_by(
                    p.c.profile_id
                )
            ),
            "product_views": rows(
                sa.select(tables.product_views).order_by("profile_id", "position")
            ),
            "identities": rows(sa.select(tables.identities).order_by("identifier")),
            "device_users": rows(sa.select(tables.device_users).order_by("device")),
            "merges": rows(
                sa.select(m.c.survivor, m.c.merged, m.c.by_message_id, m.c.at, m.c.reason).order_by(
                    m.c.id
                )
            ),
            "conflicts": rows(sa.select(c).with_only_columns(*list(c.c)[1:]).order_by(c.c.id)),
            "timers": rows(sa.select(t).order_by(t.c.key)),
            "client_events": rows(
                sa.select(e.c.seq, e.c.message_id, e.c.profile_id)
                .where(e.c.source != "juncture")
                .order_by(e.c.seq)
            ),
        }


def derived_events(store: SqlStore) -> list[tuple[Any, ...]]:
    e = tables.events
    query = (
        sa.select(e.c.message_id, e.c.event, e.c.timestamp, e.c.profile_id)
        .where(e.c.source == "juncture")
        .order_by(e.c.message_id)
    )
    with store.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(query)]


def test_replay_rebuilds_exactly_the_incremental_state(database_url: str) -> None:
    end = simulate(database_url, customers=120, days=8)
    store = SqlStore(database_url)
    try:
        built = snapshot(store)
        signals = derived_events(store)
        assert len(built["merges"]) > 0 and len(built["profiles"]) > 50
        assert any(name == "Cart Abandoned" for _, name, _, _ in signals)

        summary = replay.replay(store, until=end)
        assert snapshot(store) == built
        assert derived_events(store) == signals
        assert (summary.derived, summary.derived_new) == (len(signals), 0)
        assert summary.relinked == summary.engine_errors == 0
        assert summary.events == len(built["client_events"])

        # Without the stored signals, replay derives the very same ones again, each at the
        # same event time (a Cart Abandoned's id and timestamp are its due time).
        with store.engine.begin() as conn:
            conn.execute(tables.events.delete().where(tables.events.c.source == "juncture"))
        again = replay.replay(store, until=end)
        assert again.derived_new == len(signals)
        assert derived_events(store) == signals
        assert snapshot(store) == built
    finally:
        store.close()


def test_replay_links_events_that_were_stored_before_the_engine_ran(database_url: str) -> None:
    simulate(database_url, customers=20, days=2)
    store = SqlStore(database_url)
    try:
        built = snapshot(store)
        e = tables.events
        with store.engine.begin() as conn:
            conn.execute(e.update().values(profile_id=None))
        summary = replay.replay(store)
        assert summary.relinked == len(built["client_events"])
        assert snapshot(store)["client_events"] == built["client_events"]
    finally:
        store.close()


def test_replay_command_prints_a_summary(database_url: str) -> None:
    simulate(database_url, customers=10, days=1)
    result = runner.invoke(app, ["replay", "--until", "last", "--database-url", database_url])
    assert result.exit_code == 0, result.output
    assert "client events replayed" in result.output
    bad = runner.invoke(app, ["replay", "--until", "yesterday", "--database-url", database_url])
    assert bad.exit_code == 2
    assert "--until" in bad.output


def test_replay_rebuilds_segment_memberships(database_url: str) -> None:
    from importlib import resources

    from juncture.runtime.segments import Segments

    store = SqlStore(database_url)
    library = resources.files("juncture") / "library" / "segments"
    for name in ("behavioural_running_shoes.yaml", "geographic_dach.yaml"):
        text = (library / name).read_text()
        Segments(store.segments).apply(text, name, harness.DEMO_START)
    store.close()
    end = simulate(database_url, customers=120, days=8)
    store = SqlStore(database_url)
    # ``since`` is when the engine noticed (the commit's clock), so only who is in what
    m = tables.segment_members
    members = sa.select(m.c.segment_id, m.c.profile_id).order_by("segment_id", "profile_id")
    try:
        with store.engine.connect() as conn:
            built = [tuple(r) for r in conn.execute(members)]
        assert built, "the simulation should put someone in a segment"
        with store.engine.begin() as conn:  # lost: replay must rebuild it from the log
            conn.execute(m.delete())
        replay.replay(store, until=end)
        with store.engine.connect() as conn:
            assert [tuple(r) for r in conn.execute(members)] == built
    finally:
        store.close()


def test_replay_command_rebuilds_under_the_rules_serve_runs_with(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Non-default identity and threshold settings: `juncture replay` reads them as `serve`
    does, so it rebuilds the very state and signals the live pipeline built under them."""
    for name, value in {
        "JUNCTURE_CART_ABANDON_AFTER": "7m",
        "JUNCTURE_CHECKOUT_ABANDON_AFTER": "20m",
        "JUNCTURE_SESSION_GAP": "10m",
        "JUNCTURE_MAX_ANONYMOUS_PER_DEVICE": "3",
        "JUNCTURE_STAGE_ENGAGED_WITHIN": "2d",
    }.items():
        monkeypatch.setenv(name, value)
    end = simulate(database_url, customers=40, days=3)
    store = SqlStore(database_url)
    try:
        built, signals = snapshot(store), derived_events(store)
        abandoned = [at for _, name, at, _ in signals if name == "Cart Abandoned"]
        assert abandoned, "the simulation should abandon a cart"
    finally:
        store.close()
    result = runner.invoke(
        app, ["replay", "--until", end.isoformat(), "--database-url", database_url]
    )
    assert result.exit_code == 0, result.output
    store = SqlStore(database_url)
    try:
        assert snapshot(store) == built
        assert derived_events(store) == signals
    finally:
        store.close()
