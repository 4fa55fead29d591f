"""The demo's true effects: the deliveries it records replay each customer's run exactly,
and every journey with a holdout shows the simulator's true effect beside its measured
lift."""

from __future__ import annotations

import shutil
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from juncture.demo import effects, harness
from juncture.sim import Simulation
from juncture.sim import counterfactual as cf
from juncture.sim.response import Delivery
from tests.conftest import settings_for

CUSTOMERS, DAYS = 150, 7


@pytest.fixture(scope="module")
def demo(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, Any], Simulation, list[Delivery]]:
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
    return summary.to_json(), seen["sim"], seen["arrivals"]


def test_the_recorded_deliveries_replay_every_customer_exactly(
    demo: tuple[dict[str, Any], Simulation, list[Delivery]],
) -> None:
    _, sim, arrivals = demo
    assert arrivals, "the demo delivered nothing: nothing to replay"
    again = cf.replay(sim.config, arrivals, customers=None)
    assert sorted((p.user_id, p.at) for p in again.purchases) == sorted(
        (p.user_id, p.at) for p in sim.ground_truth.purchases
    )
    assert again.reactions == sim.ground_truth.reactions


def test_each_journey_with_a_holdout_shows_its_true_effect(
    demo: tuple[dict[str, Any], Simulation, list[Delivery]],
) -> None:
    summary, _, arrivals = demo
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
