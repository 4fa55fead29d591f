"""CUPED: variance reduction with pre-period data (Deng, Xu, Kohavi and Walker, "Improving
the Sensitivity of Online Controlled Experiments by Utilizing Pre-Experiment Data", WSDM
2013).

Each customer's metric ``y`` (revenue during the experiment) is replaced by
``y - theta (x - mean x)``, where ``x`` is the same customer's figure before the experiment
(revenue in the 30 days before entering) and ``theta = cov(x, y) / var(x)`` over both arms
pooled. The means' difference keeps its expectation (assignment is random, so ``x`` does not
depend on the arm) while its variance shrinks by the factor ``1 - corr(x, y)^2``.

Everything is computed from :class:`Sums` per arm (count, sums, sums of squares and of
products), which a database adds up in one pass and which merge by addition. Pure; no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from juncture.analytics.experiments import Comparison, Moments, welch


@dataclass(frozen=True, slots=True)
class Sums:
    """One arm's sums over customers of ``y``, ``x``, ``y^2``, ``x^2`` and ``x y``.

    >>> Sums.of([3.0, 5.0], [1.0, 2.0]) + Sums.of([4.0], [2.0])
    Sums(n=3, y=12.0, x=5.0, yy=50.0, xx=9.0, xy=21.0)
    """

    n: int
    y: float
    x: float
    yy: float
    xx: float
    xy: float

    @classmethod
    def of(
        cls,
        y: Sequence[float] | npt.NDArray[np.float64],
        x: Sequence[float] | npt.NDArray[np.float64],
    ) -> Sums:
        ys, xs = np.asarray(y, dtype=np.float64), np.asarray(x, dtype=np.float64)
        return cls(
            len(ys),
            float(ys.sum()),
            float(xs.sum()),
            float(ys @ ys),
            float(xs @ xs),
            float(xs @ ys),
        )

    def __add__(self, other: Sums) -> Sums:
        return Sums(
            self.n + other.n,
            self.y + other.y,
            self.x + other.x,
            self.yy + other.yy,
            self.xx + other.xx,
            self.xy + other.xy,
        )

    def moments(self) -> Moments:
        """The arm's moments of ``y`` alone (the unadjusted metric)."""
        return Moments.from_sums(self.n, self.y, self.yy)


@dataclass(frozen=True, slots=True)
class Adjusted:
    """The comparison on the adjusted metric, the ``theta`` used, and the share of the
    variance of the difference that the adjustment removed."""

    comparison: Comparison
    theta: float
    variance_reduction: float


def theta(t: Sums, c: Sums) -> float:
    """``cov(x, y) / var(x)`` over both arms pooled (0 when ``x`` does not vary)."""
    both = t + c
    cov = both.xy - both.x * both.y / both.n
    var = both.xx - both.x * both.x / both.n
    return cov / var if var > 0 else 0.0


def adjust(t: Sums, c: Sums, alpha: float = 0.05) -> Adjusted:
    """Welch's comparison of the CUPED-adjusted means of treatment and control.

    >>> t = Sums.of([12.0, 8.0, 15.0, 11.0], [10.0, 7.0, 13.0, 9.0])
    >>> c = Sums.of([9.0, 10.0, 6.0, 13.0], [9.0, 10.0, 5.0, 12.0])
    >>> a = adjust(t, c)
    >>> round(a.theta, 4), round(a.comparison.difference, 4), round(a.variance_reduction, 3)
    (1.079, 1.1907, 0.965)
    """
    k = theta(t, c)
    mean_x = (t.x + c.x) / (t.n + c.n)
    adjusted_t, adjusted_c = _adjusted(t, k, mean_x), _adjusted(c, k, mean_x)
    plain = t.moments(), c.moments()
    before = plain[0].variance / plain[0].n + plain[1].variance / plain[1].n
    after = adjusted_t.variance / adjusted_t.n + adjusted_c.variance / adjusted_c.n
    reduction = 1 - after / before if before > 0 else 0.0
    return Adjusted(welch(adjusted_t, adjusted_c, alpha), k, reduction)


def _adjusted(arm: Sums, k: float, mean_x: float) -> Moments:
    """The moments of ``y - k (x - mean_x)`` in one arm."""
    n = arm.n
    mean = (arm.y - k * (arm.x - n * mean_x)) / n
    if n < 2:
        return Moments(n, mean, 0.0)
    var_y = (arm.yy - arm.y * arm.y / n) / (n - 1)
    var_x = (arm.xx - arm.x * arm.x / n) / (n - 1)
    cov = (arm.xy - arm.x * arm.y / n) / (n - 1)
    return Moments(n, mean, max(var_y + k * k * var_x - 2 * k * cov, 0.0))
