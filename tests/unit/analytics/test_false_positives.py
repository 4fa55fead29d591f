"""A/A experiments over many seeds: each test rejects a true null about as often as its level
says, and each interval covers the true effect about as often as its confidence says.

The bounds are the stated rate plus or minus about three binomial standard errors of the
number of simulated experiments, so a correct method fails them about once in 300 runs of a
seed set: and the seeds are fixed, so they pass or fail the same way every time.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from juncture.analytics import bayes, cuped, experiments, sequential

RUNS = 2000


def bounds(rate: float, runs: int) -> tuple[float, float]:
    se = math.sqrt(rate * (1 - rate) / runs)
    return rate - 3.2 * se, rate + 3.2 * se


def test_the_two_proportion_test_rejects_five_percent_of_aa_experiments() -> None:
    rng = np.random.default_rng(2024)
    n_t, n_c, p = 3000, 2700, 0.04
    conv_t, conv_c = rng.binomial(n_t, p, RUNS), rng.binomial(n_c, p, RUNS)
    found = [
        experiments.two_proportions(int(a), n_t, int(b), n_c)
        for a, b in zip(conv_t, conv_c, strict=True)
    ]
    rejected = np.mean([r.p_value < 0.05 for r in found])
    covered_ci = np.mean([r.low <= 0 <= r.high for r in found])
    covered_rel = np.mean([(r.relative_low or 0) <= 0 <= (r.relative_high or 0) for r in found])
    low, high = bounds(0.05, RUNS)
    assert low <= rejected <= high
    assert low <= 1 - covered_ci <= high
    assert low <= 1 - covered_rel <= high


def test_intervals_cover_a_true_lift() -> None:
    rng = np.random.default_rng(77)
    n, p_c, p_t = 4000, 0.05, 0.06
    conv_t, conv_c = rng.binomial(n, p_t, RUNS), rng.binomial(n, p_c, RUNS)
    found = [
        experiments.two_proportions(int(a), n, int(b), n)
        for a, b in zip(conv_t, conv_c, strict=True)
    ]
    missed = np.mean([not (r.low <= p_t - p_c <= r.high) for r in found])
    missed_rel = np.mean(
        [not ((r.relative_low or 0) <= p_t / p_c - 1 <= (r.relative_high or 0)) for r in found]
    )
    low, high = bounds(0.05, RUNS)
    assert low <= missed <= high
    assert low <= missed_rel <= high


def spend(rng: np.random.Generator, n: int, scale: float = 1.0) -> np.ndarray:
    """Revenue per customer as shops see it: most spend nothing, a few a lot."""
    return np.where(rng.random(n) < 0.2, rng.lognormal(3.5, 0.8, n) * scale, 0.0)


def test_welch_rejects_five_percent_of_aa_experiments_on_skewed_revenue() -> None:
    rng = np.random.default_rng(99)
    results = [
        experiments.welch(
            experiments.Moments.of(spend(rng, 1500)), experiments.Moments.of(spend(rng, 1200))
        )
        for _ in range(RUNS)
    ]
    low, high = bounds(0.05, RUNS)
    assert low <= np.mean([r.p_value < 0.05 for r in results]) <= high
    assert (
        low
        <= np.mean([not (r.relative_low or 0) <= 0 <= (r.relative_high or 0) for r in results])
        <= high
    )


def test_cuped_keeps_the_rate_and_narrows_the_interval() -> None:
    rng = np.random.default_rng(5)
    rejected, narrower = 0, 0
    for _ in range(RUNS // 2):
        pre_t, pre_c = spend(rng, 800), spend(rng, 800)
        y_t = 0.7 * pre_t + spend(rng, 800, 0.5)
        y_c = 0.7 * pre_c + spend(rng, 800, 0.5)
        adjusted = cuped.adjust(cuped.Sums.of(y_t, pre_t), cuped.Sums.of(y_c, pre_c))
        plain = experiments.welch(experiments.Moments.of(y_t), experiments.Moments.of(y_c))
        rejected += adjusted.comparison.p_value < 0.05
        narrower += (adjusted.comparison.high - adjusted.comparison.low) < (plain.high - plain.low)
    low, high = bounds(0.05, RUNS // 2)
    assert low <= rejected / (RUNS // 2) <= high
    assert narrower / (RUNS // 2) > 0.99


def test_chance_to_beat_over_97_5_percent_happens_in_2_5_percent_of_aa_experiments() -> None:
    rng = np.random.default_rng(31)
    n, p = 2000, 0.05
    conv_t, conv_c = rng.binomial(n, p, RUNS), rng.binomial(n, p, RUNS)
    confident = np.mean(
        [
            bayes.proportions(int(a), n, int(b), n).beats > 0.975
            for a, b in zip(conv_t, conv_c, strict=True)
        ]
    )
    low, high = bounds(0.025, RUNS)
    assert low <= confident <= high


def daily_looks(
    rng: np.random.Generator, days: int, per_day: int, p_t: float, p_c: float
) -> tuple[list[sequential.Look], list[float]]:
    """Cumulative looks, one a day, and the fixed-horizon z-test's p-value at each."""
    conv_t = np.cumsum(rng.binomial(per_day, p_t, days))
    conv_c = np.cumsum(rng.binomial(per_day, p_c, days))
    looks, naive = [], []
    for day in range(days):
        n = per_day * (day + 1)
        rate_t, rate_c = conv_t[day] / n, conv_c[day] / n
        looks.append(
            sequential.Look(rate_t - rate_c, rate_t * (1 - rate_t) / n + rate_c * (1 - rate_c) / n)
        )
        naive.append(experiments.two_proportions(int(conv_t[day]), n, int(conv_c[day]), n).p_value)
    return looks, naive


@pytest.mark.parametrize("seed", [8])
def test_watching_daily_inflates_the_naive_test_but_not_the_sequential_one(seed: int) -> None:
    rng = np.random.default_rng(seed)
    runs, days, p = 1000, 28, 0.05
    tau2 = (0.1 * p) ** 2
    ever_sequential, ever_naive = 0, 0
    for _ in range(runs):
        looks, naive = daily_looks(rng, days, 200, p, p)
        ever_sequential += sequential.monitor(looks, tau2).rejects(0.05)
        ever_naive += min(naive) < 0.05
    assert ever_sequential / runs <= bounds(0.05, runs)[1]
    assert ever_naive / runs > 0.15  # peeking at a fixed-horizon test: the inflation it avoids


def test_the_sequential_test_finds_a_real_effect() -> None:
    rng = np.random.default_rng(12)
    runs, days, p = 200, 28, 0.05
    found = sum(
        sequential.monitor(daily_looks(rng, days, 400, 1.25 * p, p)[0], (0.1 * p) ** 2).rejects(
            0.05
        )
        for _ in range(runs)
    )
    assert found / runs > 0.8
