"""Frequentist statistics for experiments (a journey's split arms, its holdout, the global
control group): the difference of two conversion rates, of two means (revenue per customer),
and the check that the arms got the share of traffic they were meant to.

- :func:`two_proportions`: a pooled two-proportion z-test, an Agresti-Caffo interval on the
  absolute difference, and a log interval on the ratio (0.5 added to each count and
  total) for the relative difference; the same as statsmodels' ``proportions_ztest`` and
  ``confint_proportions_2indep`` (methods ``agresti-caffo`` and ``log-adjusted``).
- :func:`welch`: Welch's t-test over :class:`Moments` (count, mean, variance), its interval on
  the difference with the Welch-Satterthwaite degrees of freedom (as scipy's
  ``ttest_ind(equal_var=False)``), and a delta-method interval on the log of the ratio of
  means for the relative difference.
- :func:`sample_ratio`: the chi-square goodness-of-fit test of the arms' sizes against their
  intended weights; a p-value under 0.001 is a sample ratio mismatch, which makes every
  other figure of the experiment untrustworthy.

Pure functions over counts and moments; no I/O. :func:`lift` is the journey report's
holdout lift (the Agresti-Caffo interval alone).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

Z95 = 1.959963984540054
SRM_ALPHA = 0.001


@dataclass(frozen=True, slots=True)
class Lift:
    """Treatment rate minus holdout rate (absolute), with a confidence interval.

    ``lift``, ``low`` and ``high`` are None when either arm is empty: there is nothing to
    compare.
    """

    treatment_rate: float
    holdout_rate: float
    lift: float | None
    low: float | None
    high: float | None

    def to_json(self) -> dict[str, float | None]:
        return {
            "treatment_rate": self.treatment_rate,
            "holdout_rate": self.holdout_rate,
            "lift": self.lift,
            "ci95_low": self.low,
            "ci95_high": self.high,
        }


def lift(converted_t: int, n_t: int, converted_h: int, n_h: int, z: float = Z95) -> Lift:
    """The lift of a treatment over its holdout, with a Wald interval on the difference of
    two proportions (each rate given the Agresti-Caffo adjustment of one success and one
    failure per arm, which keeps the interval sensible for small or extreme counts), clipped
    to [-1, 1].

    >>> r = lift(30, 100, 10, 100)
    >>> round(r.lift or 0, 2), round(r.low or 0, 3), round(r.high or 0, 3)
    (0.2, 0.088, 0.304)
    >>> lift(3, 10, 0, 0).lift is None
    True
    """
    rate_t = converted_t / n_t if n_t else 0.0
    rate_h = converted_h / n_h if n_h else 0.0
    if not n_t or not n_h:
        return Lift(rate_t, rate_h, None, None, None)
    adj_t = (converted_t + 1) / (n_t + 2)
    adj_h = (converted_h + 1) / (n_h + 2)
    se = math.sqrt(adj_t * (1 - adj_t) / (n_t + 2) + adj_h * (1 - adj_h) / (n_h + 2))
    centre = adj_t - adj_h
    low, high = max(-1.0, centre - z * se), min(1.0, centre + z * se)
    return Lift(rate_t, rate_h, rate_t - rate_h, low, high)


@dataclass(frozen=True, slots=True)
class Comparison:
    """A treatment against its control: each arm's rate or mean, the difference (treatment
    minus control) and the relative difference (treatment over control, minus one), each
    with a ``1 - alpha`` confidence interval, and the two-sided p-value of no difference.
    The relative figures are None when the control's rate or mean is not positive."""

    control: float
    treatment: float
    difference: float
    low: float
    high: float
    relative: float | None
    relative_low: float | None
    relative_high: float | None
    p_value: float

    @property
    def significant(self) -> bool:
        """Whether the interval on the difference excludes zero."""
        return self.low > 0 or self.high < 0

    def to_json(self) -> dict[str, float | None]:
        return {
            "control": self.control,
            "treatment": self.treatment,
            "difference": self.difference,
            "difference_low": self.low,
            "difference_high": self.high,
            "relative": self.relative,
            "relative_low": self.relative_low,
            "relative_high": self.relative_high,
            "p_value": self.p_value,
        }


def two_proportions(
    converted_t: int, n_t: int, converted_c: int, n_c: int, alpha: float = 0.05
) -> Comparison:
    """Treatment against control conversion, both arms non-empty.

    >>> c = two_proportions(30, 100, 10, 100)
    >>> round(c.difference, 2), round(c.low, 4), round(c.high, 4), round(c.p_value, 6)
    (0.2, 0.0884, 0.3037, 0.000407)
    >>> round(c.relative or 0, 2), round(c.relative_low or 0, 3), round(c.relative_high or 0, 3)
    (2.0, 0.525, 4.534)
    """
    from scipy import stats

    if n_t < 1 or n_c < 1:
        raise ValueError("both arms need at least one profile")
    rate_t, rate_c = converted_t / n_t, converted_c / n_c
    z = float(stats.norm.isf(alpha / 2))
    low, high = _agresti_caffo(converted_t, n_t, converted_c, n_c, z)
    pooled = (converted_t + converted_c) / (n_t + n_c)
    se0 = math.sqrt(pooled * (1 - pooled) * (1 / n_t + 1 / n_c))
    diff = rate_t - rate_c
    p_value = 2 * float(stats.norm.sf(abs(diff) / se0)) if se0 > 0 else 1.0
    ct, nt, cc, nc = converted_t + 0.5, n_t + 0.5, converted_c + 0.5, n_c + 0.5
    log_ratio = math.log((ct / nt) / (cc / nc))
    half = z * math.sqrt(1 / ct - 1 / nt + 1 / cc - 1 / nc)
    relative = rate_t / rate_c - 1 if rate_c > 0 else None
    return Comparison(
        rate_c,
        rate_t,
        diff,
        low,
        high,
        relative,
        math.exp(log_ratio - half) - 1,
        math.exp(log_ratio + half) - 1,
        p_value,
    )


def _agresti_caffo(
    converted_t: int, n_t: int, converted_c: int, n_c: int, z: float
) -> tuple[float, float]:
    """The Wald interval on the difference after one success and one failure are added to
    each arm."""
    adj_t = (converted_t + 1) / (n_t + 2)
    adj_c = (converted_c + 1) / (n_c + 2)
    se = math.sqrt(adj_t * (1 - adj_t) / (n_t + 2) + adj_c * (1 - adj_c) / (n_c + 2))
    centre = adj_t - adj_c
    return centre - z * se, centre + z * se


@dataclass(frozen=True, slots=True)
class Moments:
    """Count, mean and (unbiased, ``n - 1``) variance of a metric per customer in one arm.

    >>> Moments.of([1.0, 2.0, 6.0])
    Moments(n=3, mean=3.0, variance=7.0)
    >>> Moments.from_sums(3, 9.0, 41.0)
    Moments(n=3, mean=3.0, variance=7.0)
    """

    n: int
    mean: float
    variance: float

    @classmethod
    def of(cls, values: Sequence[float] | npt.NDArray[np.float64]) -> Moments:
        xs = np.asarray(values, dtype=np.float64)
        variance = float(xs.var(ddof=1)) if len(xs) > 1 else 0.0
        return cls(len(xs), float(xs.mean()) if len(xs) else 0.0, variance)

    @classmethod
    def from_sums(cls, n: int, total: float, total_squares: float) -> Moments:
        """From the count, the sum and the sum of squares (what a database adds up)."""
        if n < 1:
            return cls(0, 0.0, 0.0)
        mean = total / n
        variance = max(total_squares - n * mean * mean, 0.0) / (n - 1) if n > 1 else 0.0
        return cls(n, mean, variance)


def welch(t: Moments, c: Moments, alpha: float = 0.05) -> Comparison:
    """Treatment against control means with Welch's t-test; each arm needs two customers.

    >>> w = welch(Moments(50, 12.0, 16.0), Moments(40, 10.0, 25.0))
    >>> round(w.difference, 2), round(w.low, 4), round(w.high, 4), round(w.p_value, 5)
    (2.0, 0.0629, 3.9371, 0.04318)
    """
    from scipy import stats

    if t.n < 2 or c.n < 2:
        raise ValueError("both arms need at least two customers")
    vt, vc = t.variance / t.n, c.variance / c.n
    se = math.sqrt(vt + vc)
    diff = t.mean - c.mean
    if se == 0:
        p_value, low, high = (1.0 if diff == 0 else 0.0), diff, diff
    else:
        df = (vt + vc) ** 2 / (vt**2 / (t.n - 1) + vc**2 / (c.n - 1))
        q = float(stats.t.isf(alpha / 2, df))
        p_value = 2 * float(stats.t.sf(abs(diff) / se, df))
        low, high = diff - q * se, diff + q * se
    relative, rel_low, rel_high = _relative_means(t, c, alpha)
    return Comparison(c.mean, t.mean, diff, low, high, relative, rel_low, rel_high, p_value)


def _relative_means(
    t: Moments, c: Moments, alpha: float
) -> tuple[float | None, float | None, float | None]:
    """``t.mean / c.mean - 1`` with a delta-method interval on the log of the ratio (None
    when either mean is not positive)."""
    from scipy import stats

    if t.mean <= 0 or c.mean <= 0:
        return (t.mean / c.mean - 1 if c.mean > 0 else None), None, None
    log_ratio = math.log(t.mean / c.mean)
    se = math.sqrt(t.variance / (t.n * t.mean**2) + c.variance / (c.n * c.mean**2))
    half = float(stats.norm.isf(alpha / 2)) * se
    return math.exp(log_ratio) - 1, math.exp(log_ratio - half) - 1, math.exp(log_ratio + half) - 1


@dataclass(frozen=True, slots=True)
class SampleRatio:
    """The chi-square test of the arms' sizes against their intended weights."""

    observed: tuple[int, ...]
    expected: tuple[float, ...]
    chi2: float
    p_value: float

    @property
    def mismatch(self) -> bool:
        """True when the p-value is under 0.001: the split is broken, not unlucky."""
        return self.p_value < SRM_ALPHA

    def to_json(self) -> dict[str, object]:
        return {
            "observed": list(self.observed),
            "expected": list(self.expected),
            "chi2": self.chi2,
            "p_value": self.p_value,
            "mismatch": self.mismatch,
        }


def sample_ratio(observed: Sequence[int], weights: Sequence[float]) -> SampleRatio:
    """Whether arms of sizes ``observed`` could come from a split with these ``weights``.

    >>> r = sample_ratio([5100, 4900], [0.5, 0.5])
    >>> round(r.chi2, 2), round(r.p_value, 4), r.mismatch
    (4.0, 0.0455, False)
    >>> sample_ratio([5300, 4700], [1, 1]).mismatch
    True
    """
    from scipy import stats

    total = sum(observed)
    scale = total / sum(weights)
    expected = tuple(w * scale for w in weights)
    chi2 = sum((o - e) ** 2 / e for o, e in zip(observed, expected, strict=True) if e > 0)
    p_value = float(stats.chi2.sf(chi2, len(observed) - 1)) if total else 1.0
    return SampleRatio(tuple(observed), expected, chi2, p_value)
