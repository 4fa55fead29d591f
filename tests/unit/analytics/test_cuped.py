"""CUPED from sums against the adjustment done value by value and compared with scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from juncture.analytics import cuped


def arms(seed: int, n_t: int, n_c: int, effect: float) -> tuple[np.ndarray, ...]:
    rng = np.random.default_rng(seed)
    pre_t, pre_c = rng.gamma(2.0, 20.0, n_t), rng.gamma(2.0, 20.0, n_c)
    y_t = 0.8 * pre_t + rng.normal(5.0 + effect, 15.0, n_t)
    y_c = 0.8 * pre_c + rng.normal(5.0, 15.0, n_c)
    return y_t, pre_t, y_c, pre_c


@pytest.mark.parametrize(("seed", "n_t", "n_c"), [(1, 300, 300), (2, 900, 100), (3, 40, 55)])
def test_cuped_equals_the_adjustment_value_by_value(seed: int, n_t: int, n_c: int) -> None:
    y_t, x_t, y_c, x_c = arms(seed, n_t, n_c, effect=2.0)
    found = cuped.adjust(cuped.Sums.of(y_t, x_t), cuped.Sums.of(y_c, x_c))
    x, y = np.concatenate([x_t, x_c]), np.concatenate([y_t, y_c])
    theta = np.cov(x, y)[0, 1] / np.var(x, ddof=1)
    adj_t, adj_c = y_t - theta * (x_t - x.mean()), y_c - theta * (x_c - x.mean())
    ref = stats.ttest_ind(adj_t, adj_c, equal_var=False)
    ci = ref.confidence_interval(0.95)
    assert found.theta == pytest.approx(theta, rel=1e-9)
    assert found.comparison.difference == pytest.approx(adj_t.mean() - adj_c.mean(), abs=1e-9)
    assert found.comparison.p_value == pytest.approx(ref.pvalue, abs=1e-9)
    assert (found.comparison.low, found.comparison.high) == pytest.approx(
        (ci.low, ci.high), abs=1e-9
    )


def test_the_variance_falls_by_the_squared_correlation() -> None:
    y_t, x_t, y_c, x_c = arms(7, 20_000, 20_000, effect=0.0)
    found = cuped.adjust(cuped.Sums.of(y_t, x_t), cuped.Sums.of(y_c, x_c))
    rho = np.corrcoef(np.concatenate([x_t, x_c]), np.concatenate([y_t, y_c]))[0, 1]
    assert found.variance_reduction == pytest.approx(rho**2, abs=0.01)
    assert found.variance_reduction > 0.3


def test_sums_merge_by_addition() -> None:
    y_t, x_t, _, _ = arms(4, 100, 1, effect=0.0)
    merged = cuped.Sums.of(y_t[:60], x_t[:60]) + cuped.Sums.of(y_t[60:], x_t[60:])
    whole = cuped.Sums.of(y_t, x_t)
    assert merged.n == whole.n
    assert (merged.y, merged.xy, merged.xx) == pytest.approx((whole.y, whole.xy, whole.xx))
