"""The decision an experiment's reader is told to take, one rule at a time."""

from __future__ import annotations

from juncture.analytics import verdict
from juncture.analytics.experiments import Moments

NO_SPEND = Moments(0, 0.0, 0.0)


def arm(name: str, weight: float, profiles: int, converted: int) -> verdict.Arm:
    return verdict.Arm(name, weight, profiles, converted, Moments(profiles, 1.0, 4.0))


def test_a_broken_split_is_investigated_whatever_the_lift() -> None:
    r = verdict.judge(
        "j:holdout", arm("holdout", 0.1, 1500, 30), [arm("treatment", 0.9, 8500, 900)]
    )
    assert r.sample_ratio.mismatch
    assert r.decision.action == "investigate"
    assert "[1500, 8500]" in r.decision.why


def test_too_little_data_keeps_it_running() -> None:
    r = verdict.judge("j:holdout", arm("holdout", 0.5, 40, 1), [arm("treatment", 0.5, 45, 9)])
    assert r.decision.action == "keep running"
    assert "too little data" in r.decision.why


def test_a_clear_winner_is_shipped_with_its_figures() -> None:
    r = verdict.judge("j:split:s", arm("a", 0.5, 5000, 250), [arm("b", 0.5, 5000, 400)])
    assert r.decision.action == "ship"
    assert r.decision.why.startswith("b converts +3.00 points (+60.0%) over a")
    conv = r.comparisons["b"]["conversion"]
    assert conv["difference_low"] > 0
    assert r.comparisons["b"]["bayes"]["chance_to_beat_control"] > 0.999


def test_a_harmful_arm_is_stopped() -> None:
    r = verdict.judge("j:split:s", arm("a", 0.5, 5000, 400), [arm("b", 0.5, 5000, 250)])
    assert r.decision.action == "stop"


def test_no_effect_once_the_planned_size_is_reached() -> None:
    r = verdict.judge("j:split:s", arm("a", 0.5, 80_000, 4000), [arm("b", 0.5, 80_000, 4010)])
    assert r.plan is not None and r.plan.control < 80_000
    assert r.decision.action == "no effect"


def test_otherwise_it_says_how_many_more_profiles_and_days() -> None:
    r = verdict.judge(
        "j:split:s", arm("a", 0.5, 1000, 50), [arm("b", 0.5, 1000, 55)], per_day=200.0
    )
    assert r.decision.action == "keep running"
    assert r.plan is not None
    assert f"{r.plan.control - 1000} more are needed" in r.decision.why
    assert "more days" in r.decision.why


def test_daily_looks_feed_the_sequential_test() -> None:
    """The same final counts, reached with a large early gap that closed: the always-valid
    p-value remembers the early evidence (it is the smallest over the looks)."""
    final = (arm("a", 0.5, 4000, 200), arm("b", 0.5, 4000, 230))
    early = [(1000, 20), (2000, 80), (3000, 140), (4000, 200)]
    late = [(1000, 80), (2000, 140), (3000, 190), (4000, 230)]
    plain = verdict.judge("j", final[0], [final[1]])
    looked = verdict.judge(
        "j",
        verdict.Arm("a", 0.5, 4000, 200, final[0].revenue, tuple(early)),
        [verdict.Arm("b", 0.5, 4000, 230, final[1].revenue, tuple(late))],
    )
    assert (
        looked.comparisons["b"]["sequential"]["p_value"]
        < plain.comparisons["b"]["sequential"]["p_value"]
    )
