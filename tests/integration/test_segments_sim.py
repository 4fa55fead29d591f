"""Segments on the simulator's data: automatic clusters and the CLI, on SQLite."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from juncture import wiring
from juncture.analytics import clusters
from juncture.cli.main import app
from juncture.demo import harness
from juncture.runtime.clock import ManualClock
from juncture.runtime.segments import Segments
from juncture.store import tables
from juncture.store.sql import SqlStore
from tests.conftest import settings_for

NOW = harness.DEMO_START + dt.timedelta(days=14)
runner = CliRunner()


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite:///{tmp_path_factory.mktemp('sim') / 'sim.db'}"
    clock = ManualClock(harness.DEMO_START)
    juncture = wiring.build(settings_for(url).model_copy(update={"auto_migrate": True}), clock)
    try:
        harness.run(juncture, clock, seed=7, customers=250, days=14)
    finally:
        juncture.close()
    return url


@pytest.fixture
def ops(simulated: str) -> Iterator[Segments]:
    store = SqlStore(simulated)
    yield Segments(store.segments)
    store.close()


def test_clusters_are_stable_for_a_seed_and_described_by_their_features(ops: Segments) -> None:
    first = ops.auto(NOW, k=4, seed=5)
    again = ops.auto(NOW, k=4, seed=5)
    assert [c.members for c in first] == [c.members for c in again]
    assert [c.description for c in first] == [c.description for c in again]
    assert sum(len(c.members) for c in first) == ops.store.stored_size("auto-1") + sum(
        ops.store.stored_size(f"auto-{i}") for i in (2, 3, 4)
    )
    rows = {pid: clusters.features(p, NOW) for pid, p in ops.store.live_profiles()}
    data = np.array(list(rows.values()))
    overall = data.mean(axis=0)
    for c in first:
        mine = np.array([rows[p] for p in c.members]).mean(axis=0)
        for feature, z in c.traits[:3]:
            i = clusters.FEATURES.index(feature)
            assert np.sign(mine[i] - overall[i]) == np.sign(z), (c.name, feature)
        above, below = clusters._WORDS[c.traits[0][0]]
        assert (above if c.traits[0][1] > 0 else below) in c.description
    assert len({c.name for c in first}) == 4


def test_the_cli_applies_lists_and_reports_bad_files(simulated: str, tmp_path: Path) -> None:
    at = ["--at", NOW.isoformat(), "--database-url", simulated]
    applied = runner.invoke(app, ["segments", "apply", "--library", *at])
    assert applied.exit_code == 0, applied.output
    assert "running-shoes-browsers:" in applied.output
    listed = runner.invoke(app, ["segments", "list", *at])
    assert "high-intent-berlin" in listed.output
    size = runner.invoke(app, ["segments", "size", "price-sensitive", *at])
    members = runner.invoke(app, ["segments", "members", "price-sensitive", "--limit", "5", *at])
    assert len(members.stdout.split()) == min(5, int(size.stdout))
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\nname: X\nwhere:\n  fact: city\n  eq: 3\n")
    checked = runner.invoke(app, ["segments", "validate", str(bad)])
    assert checked.exit_code == 1
    assert f"{bad}:5: where.eq: fact 'city' holds text, not 3" in checked.output
    missing = runner.invoke(app, ["segments", "show", "nope", "--database-url", simulated])
    assert missing.exit_code == 1
    assert "not_found" in missing.output


def test_the_cli_previews_an_unsaved_definition(simulated: str, tmp_path: Path) -> None:
    at = ["--at", NOW.isoformat(), "--database-url", simulated]
    definition = tmp_path / "germany.yaml"
    definition.write_text("id: germany-preview\nname: Germany\nwhere: {fact: country, eq: DE}\n")
    shown = runner.invoke(app, ["segments", "preview", str(definition), *at])
    assert shown.exit_code == 0, shown.output
    p = tables.profiles
    query = sa.select(sa.func.count()).where(p.c.country == "DE", p.c.redirect_to.is_(None))
    engine = sa.create_engine(simulated)
    with engine.connect() as conn:
        expected = conn.execute(query).scalar_one()
    engine.dispose()
    assert expected > 0
    assert shown.stdout.strip() == f"germany-preview: {expected:,} members (not saved)"
    listed = runner.invoke(app, ["segments", "list", *at])
    assert "germany-preview" not in listed.output
    bad = tmp_path / "bad.yaml"
    bad.write_text("id: x\nname: X\nwhere:\n  fact: country\n  eq: 3\n")
    refused = runner.invoke(app, ["segments", "preview", str(bad), *at])
    assert refused.exit_code == 1
    assert f"{bad}:5: where.eq: fact 'country' holds text, not 3" in refused.output
