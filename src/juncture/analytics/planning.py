"""Sample size and duration: how many profiles an experiment needs to find an effect of a
given size, and how many days that takes.

Power of a two-sided test of two independent groups with a normal statistic, as statsmodels'
``NormalIndPower`` computes it (both tails counted): for conversion rates the effect size is
Cohen's ``h = 2 asin(sqrt(p_t)) - 2 asin(sqrt(p_c))``, for means it is the difference over
the standard deviation. ``ratio`` is the treatment arm's size over the control's (a journey
that holds out 10% has ``ratio = 9``). The sample size is the smallest whole control arm
with at least the asked power. Pure; no I/O.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Plan:
    """Profiles needed per arm and in all, and the days at the given daily traffic."""

    control: int
    treatment: int
    days: int | None

    @property
    def total(self) -> int:
        return self.control + self.treatment

    def to_json(self) -> dict[str, int | None]:
        return {
            "control": self.control,
            "treatment": self.treatment,
            "total": self.total,
            "days": self.days,
        }


def cohens_h(p_t: float, p_c: float) -> float:
    """The arcsine effect size of two proportions.

    >>> round(cohens_h(0.12, 0.10), 6)
    0.063982
    """
    return 2 * math.asin(math.sqrt(p_t)) - 2 * math.asin(math.sqrt(p_c))


def power(effect: float, n_control: float, ratio: float = 1.0, alpha: float = 0.05) -> float:
    """The power of the two-sided test for a standardized ``effect`` with ``n_control``
    profiles in control and ``ratio * n_control`` in treatment.

    >>> round(power(0.2, 400), 6)
    0.80743
    """
    from scipy import stats

    z = float(stats.norm.isf(alpha / 2))
    shift = abs(effect) * math.sqrt(n_control / (1 + 1 / ratio))
    return float(stats.norm.sf(z - shift) + stats.norm.cdf(-z - shift))


def sample_size(
    effect: float,
    power_wanted: float = 0.8,
    ratio: float = 1.0,
    alpha: float = 0.05,
    per_day: float | None = None,
) -> Plan:
    """The arms' sizes that reach ``power_wanted`` for a standardized ``effect``, and the days
    at ``per_day`` profiles entering the experiment a day.

    >>> sample_size(0.2)
    Plan(control=393, treatment=393, days=None)
    >>> sample_size(cohens_h(0.12, 0.10), ratio=9.0, per_day=500.0)
    Plan(control=2131, treatment=19179, days=43)
    """
    from scipy import optimize

    if effect == 0:
        raise ValueError("an effect of zero needs infinitely many profiles")

    def short(n: float) -> float:
        return power(effect, n, ratio, alpha) - power_wanted

    high = 2.0
    while short(high) < 0:
        high *= 2
    n = math.ceil(optimize.brentq(short, 1e-9, high, xtol=1e-9))
    treatment = math.ceil(n * ratio)
    days = math.ceil((n + treatment) / per_day) if per_day else None
    return Plan(n, treatment, days)


def for_proportions(
    p_control: float,
    relative_effect: float,
    *,
    power_wanted: float = 0.8,
    ratio: float = 1.0,
    alpha: float = 0.05,
    per_day: float | None = None,
) -> Plan:
    """The plan to find a ``relative_effect`` (0.1: a tenth more) on a ``p_control`` rate."""
    effect = cohens_h(p_control * (1 + relative_effect), p_control)
    return sample_size(effect, power_wanted, ratio, alpha, per_day)


def for_means(
    sd: float,
    difference: float,
    *,
    power_wanted: float = 0.8,
    ratio: float = 1.0,
    alpha: float = 0.05,
    per_day: float | None = None,
) -> Plan:
    """The plan to find a ``difference`` in a mean whose standard deviation is ``sd``."""
    return sample_size(difference / sd, power_wanted, ratio, alpha, per_day)
