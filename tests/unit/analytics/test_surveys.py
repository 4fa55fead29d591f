"""NPS and CSAT against statsmodels' interval of a mean and Wilson interval."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.weightstats import DescrStatsW

from juncture.analytics import surveys


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_nps_interval_equals_the_interval_of_the_mean_of_plus_and_minus_one(seed: int) -> None:
    answers = np.random.default_rng(seed).integers(0, 11, 150 + 100 * seed)
    found = surveys.nps(int(a) for a in answers)
    signs = np.where(answers >= 9, 1.0, np.where(answers <= 6, -1.0, 0.0))
    low, high = DescrStatsW(signs).zconfint_mean(alpha=0.05)
    assert found.score.value == pytest.approx(100 * signs.mean(), abs=1e-9)
    assert (found.score.low, found.score.high) == pytest.approx((100 * low, 100 * high), abs=1e-9)
    assert found.promoters + found.passives + found.detractors == len(answers)


@pytest.mark.parametrize(("k", "n"), [(42, 50), (0, 12), (12, 12), (517, 1203)])
def test_wilson_equals_statsmodels(k: int, n: int) -> None:
    found = surveys.wilson(k, n)
    low, high = proportion_confint(k, n, alpha=0.05, method="wilson")
    assert (found.low, found.high) == pytest.approx((low, high), abs=1e-12)


def test_csat_counts_the_two_top_boxes_and_ignores_answers_off_the_scale() -> None:
    found = surveys.csat([5, 4, 3, 2, 1, 0, 6, 5], top=5)
    assert found.satisfied.n == 6
    assert found.satisfied.value == pytest.approx(3 / 6)
    assert found.mean == pytest.approx(20 / 6)
    assert surveys.csat([7, 6, 3], top=7).satisfied.value == pytest.approx(2 / 3)


def test_no_answers_give_an_empty_score() -> None:
    assert surveys.nps([]).score.n == 0
    assert surveys.csat([]).satisfied.n == 0
