"""Statistics for holdout experiments: the difference of two conversion rates.

Pure functions over counts; no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054


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
