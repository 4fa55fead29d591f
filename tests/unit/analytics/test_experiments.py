from __future__ import annotations

import doctest

import pytest

from juncture.analytics import experiments
from juncture.analytics.experiments import lift


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
