from __future__ import annotations

import doctest

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

from juncture.analytics import experiments
from juncture.analytics.experiments import Moments, lift, sample_ratio, two_proportions, welch


def test_doctests() -> None:
    result = doctest.testmod(experiments)
    assert result.attempted > 0
    assert result.failed == 0


def test_no_difference_gives_an_interval_around_zero() -> None:
    r = lift(50, 500, 10, 100)
    assert r.lift == pytest.approx(0.0)
    assert r.low is not None and r.high is not None
    assert r.low < 0 < r.high


def test_interval_narrows_with_more_data() -> None:
    small = lift(30, 100, 10, 100)
    large = lift(300, 1000, 100, 1000)
    assert small.low is not None and small.high is not None
    assert large.low is not None and large.high is not None
    assert large.high - large.low < small.high - small.low
    assert large.low > 0


def test_extreme_counts_stay_inside_minus_one_to_one() -> None:
    r = lift(5, 5, 0, 3)
    assert r.lift == 1.0
    assert r.low is not None and r.high is not None
    assert -1.0 <= r.low < r.high <= 1.0


def test_an_empty_arm_has_no_lift() -> None:
    assert lift(0, 0, 3, 10).lift is None
    assert lift(3, 10, 0, 0).high is None


# The frequentist tests against statsmodels and scipy on fixed inputs.

COUNTS = [
    (30, 100, 10, 100),
    (120, 1000, 100, 1000),
    (7, 480, 12, 520),
    (1, 50, 0, 45),
    (4312, 50000, 4101, 49800),
]


@pytest.mark.parametrize(("ct", "nt", "cc", "nc"), COUNTS)
def test_two_proportions_equal_statsmodels(ct: int, nt: int, cc: int, nc: int) -> None:
    found = two_proportions(ct, nt, cc, nc)
    _, p_value = proportions_ztest([ct, cc], [nt, nc])
    low, high = confint_proportions_2indep(ct, nt, cc, nc, method="agresti-caffo")
    rlow, rhigh = confint_proportions_2indep(ct, nt, cc, nc, method="log-adjusted", compare="ratio")
    assert found.p_value == pytest.approx(p_value, abs=1e-9)
    assert (found.low, found.high) == pytest.approx((low, high), abs=1e-9)
    assert (found.relative_low, found.relative_high) == pytest.approx(
        (rlow - 1, rhigh - 1), abs=1e-9
    )
    assert found.difference == pytest.approx(ct / nt - cc / nc)


def test_two_proportions_at_another_level_equal_statsmodels() -> None:
    found = two_proportions(120, 1000, 100, 1000, alpha=0.1)
    low, high = confint_proportions_2indep(120, 1000, 100, 1000, method="agresti-caffo", alpha=0.1)
    assert (found.low, found.high) == pytest.approx((low, high), abs=1e-9)


def revenue(seed: int, n: int, scale: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return np.where(rng.random(n) < 0.3, rng.lognormal(3.0, 1.0, n) * scale, 0.0)


@pytest.mark.parametrize(
    ("seed", "nt", "nc", "scale"), [(1, 400, 380, 1.1), (2, 35, 60, 1.0), (3, 5000, 500, 0.9)]
)
def test_welch_equals_scipy(seed: int, nt: int, nc: int, scale: float) -> None:
    t, c = revenue(seed, nt, scale), revenue(seed + 100, nc, 1.0)
    found = welch(Moments.of(t), Moments.of(c))
    ref = stats.ttest_ind(t, c, equal_var=False)
    ci = ref.confidence_interval(0.95)
    assert found.p_value == pytest.approx(ref.pvalue, abs=1e-9)
    assert (found.low, found.high) == pytest.approx((ci.low, ci.high), abs=1e-9)
    assert found.difference == pytest.approx(t.mean() - c.mean(), abs=1e-9)


def test_moments_from_sums_equal_moments_of_values() -> None:
    values = revenue(4, 300, 1.0)
    direct = Moments.of(values)
    summed = Moments.from_sums(len(values), float(values.sum()), float((values**2).sum()))
    assert summed.mean == pytest.approx(direct.mean, rel=1e-12)
    assert summed.variance == pytest.approx(direct.variance, rel=1e-9)


def test_welch_relative_interval_is_the_delta_method_on_the_log_ratio() -> None:
    t, c = Moments(400, 12.0, 100.0), Moments(400, 10.0, 81.0)
    found = welch(t, c)
    se = np.sqrt(100.0 / (400 * 144.0) + 81.0 / (400 * 100.0))
    assert found.relative == pytest.approx(0.2)
    assert found.relative_low == pytest.approx(1.2 * np.exp(-stats.norm.isf(0.025) * se) - 1)
    assert found.relative_high == pytest.approx(1.2 * np.exp(stats.norm.isf(0.025) * se) - 1)


@pytest.mark.parametrize(
    ("observed", "weights"),
    [([5100, 4900], [1, 1]), ([9120, 880], [0.9, 0.1]), ([330, 350, 290], [1, 1, 1])],
)
def test_sample_ratio_equals_scipy_chisquare(observed: list[int], weights: list[float]) -> None:
    found = sample_ratio(observed, weights)
    expected = np.array(weights) / sum(weights) * sum(observed)
    ref = stats.chisquare(observed, expected)
    assert found.chi2 == pytest.approx(ref.statistic, abs=1e-9)
    assert found.p_value == pytest.approx(ref.pvalue, abs=1e-12)


def test_a_broken_split_is_a_mismatch_and_a_fair_one_is_not() -> None:
    assert sample_ratio([9000, 1000], [0.9, 0.1]).mismatch is False
    assert sample_ratio([9300, 700], [0.9, 0.1]).mismatch is True
