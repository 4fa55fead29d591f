"""Power and sample size against statsmodels' NormalIndPower."""

from __future__ import annotations

import math

import pytest
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from juncture.analytics import planning


@pytest.mark.parametrize(
    ("effect", "n", "ratio", "alpha"),
    [(0.2, 400, 1.0, 0.05), (0.05, 3000, 9.0, 0.05), (-0.1, 800, 0.5, 0.01), (0.01, 100, 1.0, 0.1)],
)
def test_power_equals_statsmodels(effect: float, n: int, ratio: float, alpha: float) -> None:
    reference = NormalIndPower().power(effect, n, alpha, ratio=ratio)
    assert planning.power(effect, n, ratio, alpha) == pytest.approx(reference, abs=1e-9)


def test_cohens_h_equals_statsmodels() -> None:
    assert planning.cohens_h(0.12, 0.10) == pytest.approx(
        proportion_effectsize(0.12, 0.10), abs=1e-12
    )


@pytest.mark.parametrize(
    ("p", "relative", "ratio", "power"),
    [(0.10, 0.2, 1.0, 0.8), (0.03, 0.1, 9.0, 0.8), (0.5, 0.05, 1.0, 0.9)],
)
def test_sample_size_equals_statsmodels(
    p: float, relative: float, ratio: float, power: float
) -> None:
    effect = proportion_effectsize(p * (1 + relative), p)
    reference = NormalIndPower().solve_power(effect, None, 0.05, power, ratio=ratio)
    plan = planning.for_proportions(p, relative, power_wanted=power, ratio=ratio)
    assert plan.control == math.ceil(reference)
    assert plan.treatment == math.ceil(plan.control * ratio)
    assert planning.power(effect, plan.control, ratio) >= power
    assert planning.power(effect, plan.control - 1, ratio) < power


def test_the_duration_is_the_total_over_the_daily_traffic() -> None:
    plan = planning.for_means(sd=40.0, difference=4.0, per_day=250.0)
    assert plan.days == math.ceil(plan.total / 250.0)
    assert plan.control == math.ceil(NormalIndPower().solve_power(0.1, None, 0.05, 0.8, ratio=1.0))
