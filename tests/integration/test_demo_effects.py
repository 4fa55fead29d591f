"""Measures over a small demo: the deliveries it records replay each customer's run
exactly, every journey with a holdout shows the simulator's true effect beside its measured
lift, and the touchpoint map counts every touch and delivered message the store holds."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from juncture.core import channels
from juncture.demo import effects, harness
from juncture.runtime import catalog_events as runtime_catalog
from juncture.sim import Simulation
from juncture.sim import counterfactual as cf
from juncture.sim.response import Delivery
from juncture.store import tables, touchpoint_map
from juncture.store.kpis import KpiQuery
from juncture.store.touchpoint_map import TouchpointMaps
from tests.conftest import settings_for

CUSTOMERS, DAYS = 150, 7


@pytest.fixture(scope="module")
def demo(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, Any], Simulation, list[Delivery], str]:
    path = tmp_path_factory.mktemp("effects") / "demo.db"
    shutil.copy(sqlite_template, path)
    seen: dict[str, Any] = {}
    annotate = effects.annotate

    def spy(lifts: Any, sim: Simulation, arrivals: Sequence[Delivery], *rest: Any) -> None:
        seen.update(sim=sim, arrivals=list(arrivals))
        annotate(lifts, sim, arrivals, *rest)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(effects, "annotate", spy)
        juncture, clock = harness.build(settings_for(f"sqlite:///{path}"))
        try:
            summary = harness.run(juncture, clock, seed=3, customers=CUSTOMERS, days=DAYS)
        finally:
            juncture.close()
    return summary.to_json(), seen["sim"], seen["arrivals"], f"sqlite:///{path}"


def test_the_recorded_deliveries_replay_every_customer_exactly(
    demo: tuple[dict[str, Any], Simulation, list[Delivery], str],
) -> None:
    _, sim, arrivals, _ = demo
    assert arrivals, "the demo delivered nothing: nothing to replay"
    again = cf.replay(sim.config, arrivals, customers=None)
    assert sorted((p.user_id, p.at) for p in again.purchases) == sorted(
        (p.user_id, p.at) for p in sim.ground_truth.purchases
    )
    assert again.reactions == sim.ground_truth.reactions


def test_each_journey_with_a_holdout_shows_its_true_effect(
    demo: tuple[dict[str, Any], Simulation, list[Delivery], str],
) -> None:
    summary, _, arrivals, _ = demo
    lifts = summary["journeys"]["lift"]
    with_holdout = {j for j, row in lifts.items() if row["holdout"]["profiles"]}
    assert with_holdout, "no journey had a holdout in the run"
    for journey in with_holdout:
        row = lifts[journey]
        assert -1.0 <= row["true_effect"] <= 1.0
        assert row["covered"] == (row["ci95_low"] <= row["true_effect"] <= row["ci95_high"])
        reached = any(d.journey == journey for d in arrivals)
        assert (row["true_changed"] > 0) <= reached  # no message, no effect
    assert all("true_effect" not in lifts[j] for j in set(lifts) - with_holdout)
    decided = {e["experiment"]: e for e in summary["journeys"]["experiments"]}
    for journey in with_holdout:  # each holdout is an experiment, with its decision
        found = decided[f"{journey}:holdout"]
        assert found["arms"]["holdout"]["profiles"] == lifts[journey]["holdout"]["profiles"]
        assert found["action"] in {"investigate", "keep running", "ship", "stop", "no effect"}


def test_the_touchpoint_map_counts_every_touch_and_delivered_message(
    demo: tuple[dict[str, Any], Simulation, list[Delivery], str],
) -> None:
    *_, url = demo
    engine = sa.create_engine(url)
    e, o = tables.events, tables.outbox
    with engine.connect() as conn:
        touches = conn.execute(
            sa.select(sa.func.count()).where(
                e.c.source == harness.DEMO_SOURCE, e.c.type.not_in(["identify", "group", "alias"])
            )
        ).scalar_one()
        delivered = {
            str(p): int(n)
            for p, n in conn.execute(
                sa.select(o.c.profile_id, sa.func.count())
                .where(o.c.status.in_(["sent", "shown"]))
                .group_by(o.c.profile_id)
            )
        }
    reads = TouchpointMaps(engine)
    rows = reads.by_stage(KpiQuery())
    assert sum(r["touches"] for r in rows if r["kind"] == "event") == touches
    assert runtime_catalog.SOURCE in touchpoint_map.NOT_PEOPLE
    assert sum(r["touches"] for r in rows if r["kind"] == "message") == sum(delivered.values())
    busiest = max(delivered, key=lambda p: delivered[p])
    mine = reads.of_person(busiest, KpiQuery())
    assert sum(r["count"] for r in mine if r["kind"] == "message") >= delivered[busiest]
    assert all(r["channel"] in channels.NAMES for r in mine if r["kind"] == "message")
    assert [r["at"] for r in mine] == sorted(r["at"] for r in mine)
    engine.dispose()
