"""Always-valid inference: results a marketer may look at every day without inflating the
false-positive rate.

The mixture sequential probability ratio test (mSPRT) of Johari, Koomen, Pekelis and Walsh
("Always Valid Inference: Continuous Monitoring of A/B Tests", Operations Research 70(3),
2022), for a difference ``d`` estimated with variance ``v`` (the squared standard error)
and a normal mixing distribution ``N(0, tau2)`` over the true difference::

    Lambda = sqrt(v / (v + tau2)) * exp(tau2 * d^2 / (2 v (v + tau2)))

Under no difference ``Lambda`` is a martingale with mean one, so by Ville's inequality the
chance it ever exceeds ``1/alpha``, at any of any number of looks, is at most ``alpha``.
The always-valid p-value is the smallest ``1/Lambda`` seen so far, and the always-valid
confidence interval the set of differences the test would not reject (intersected over the
looks). ``tau2`` says what size of effect the test is tuned to find soonest; a common choice
is the square of the smallest effect worth finding. Pure; no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Look:
    """One look at a running experiment: the estimated difference and its variance."""

    difference: float
    variance: float


@dataclass(frozen=True, slots=True)
class AlwaysValid:
    """After a series of looks: the always-valid p-value and confidence interval."""

    p_value: float
    low: float
    high: float

    def rejects(self, alpha: float = 0.05) -> bool:
        return self.p_value < alpha

    def to_json(self) -> dict[str, float]:
        return {"p_value": self.p_value, "low": self.low, "high": self.high}


def log_ratio(look: Look, tau2: float, null: float = 0.0) -> float:
    """``log(Lambda)`` of the mixture likelihood ratio against a true difference ``null``.

    >>> round(log_ratio(Look(0.02, 0.0001), tau2=0.0004), 4)
    0.7953
    """
    v = look.variance
    gap = look.difference - null
    return 0.5 * math.log(v / (v + tau2)) + tau2 * gap * gap / (2 * v * (v + tau2))


def half_width(look: Look, tau2: float, alpha: float) -> float:
    """Half the width of the interval of differences whose ratio stays under ``1/alpha``."""
    v = look.variance
    bound = math.log(1 / alpha) + 0.5 * math.log((v + tau2) / v)
    return math.sqrt(2 * v * (v + tau2) / tau2 * bound)


def monitor(looks: Iterable[Look], tau2: float, alpha: float = 0.05) -> AlwaysValid:
    """The always-valid p-value and interval after the ``looks`` so far, in order. Looks with
    no variance yet (an empty arm) are skipped.

    >>> days = [Look(0.03, 0.0004), Look(0.025, 0.0002), Look(0.022, 0.0001)]
    >>> r = monitor(days, tau2=0.0004)
    >>> round(r.p_value, 4), round(r.low, 4), round(r.high, 4)
    (0.3226, -0.0088, 0.0528)
    """
    p_value, low, high = 1.0, -math.inf, math.inf
    for look in looks:
        if look.variance <= 0:
            continue
        p_value = min(p_value, math.exp(-max(log_ratio(look, tau2), 0.0)))
        half = half_width(look, tau2, alpha)
        low, high = max(low, look.difference - half), min(high, look.difference + half)
    return AlwaysValid(p_value, low, high)
