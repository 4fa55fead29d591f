"""Survey scores: Net Promoter Score and customer satisfaction, with confidence intervals.

- NPS: answers 0 to 10; promoters answer 9 or 10, detractors 0 to 6. The score is the share
  of promoters minus the share of detractors, times 100 (from -100 to 100). Its interval is
  the normal interval on the mean of a variable that is +1 for a promoter, -1 for a detractor
  and 0 otherwise, with the sample variance (as statsmodels' ``DescrStatsW.zconfint_mean``).
- CSAT: answers on a 1 to 5 scale (or another top); the score is the share of satisfied
  answers (4 or 5: the two top boxes), with a Wilson interval, and the mean answer.
- Response rate: answers over surveys asked, with a Wilson interval.

Pure; no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Score:
    """A score with its ``1 - alpha`` interval, over ``n`` answers."""

    value: float
    low: float
    high: float
    n: int

    def to_json(self) -> dict[str, float | int]:
        return {"value": self.value, "low": self.low, "high": self.high, "n": self.n}


@dataclass(frozen=True, slots=True)
class Nps:
    """The promoters, passives and detractors, and the score."""

    promoters: int
    passives: int
    detractors: int
    score: Score

    def to_json(self) -> dict[str, object]:
        return {
            "promoters": self.promoters,
            "passives": self.passives,
            "detractors": self.detractors,
            "nps": self.score.to_json(),
        }


def nps(answers: Iterable[int], alpha: float = 0.05) -> Nps:
    """The NPS of ``answers`` (each 0 to 10; others are ignored).

    >>> r = nps([10, 9, 9, 8, 7, 6, 3, 10, 10, 0])
    >>> r.promoters, r.passives, r.detractors, round(r.score.value, 1)
    (5, 2, 3, 20.0)
    >>> round(r.score.low, 2), round(r.score.high, 2)
    (-36.96, 76.96)
    """
    counts = [0, 0, 0]  # detractors, passives, promoters
    for answer in answers:
        if 0 <= answer <= 10:
            counts[0 if answer <= 6 else 1 if answer <= 8 else 2] += 1
    return nps_of(counts[2], counts[1], counts[0], alpha)


def nps_of(promoters: int, passives: int, detractors: int, alpha: float = 0.05) -> Nps:
    """The NPS from the three counts."""
    from scipy import stats

    n = promoters + passives + detractors
    if n == 0:
        return Nps(0, 0, 0, Score(0.0, -100.0, 100.0, 0))
    mean = (promoters - detractors) / n
    second = (promoters + detractors) / n
    variance = (second - mean * mean) * n / (n - 1) if n > 1 else 0.0
    half = float(stats.norm.isf(alpha / 2)) * math.sqrt(variance / n)
    low, high = max(mean - half, -1.0), min(mean + half, 1.0)
    return Nps(promoters, passives, detractors, Score(100 * mean, 100 * low, 100 * high, n))


def wilson(successes: int, n: int, alpha: float = 0.05) -> Score:
    """A share with the Wilson score interval.

    >>> s = wilson(42, 50)
    >>> round(s.value, 2), round(s.low, 4), round(s.high, 4)
    (0.84, 0.7149, 0.9166)
    """
    from scipy import stats

    if n == 0:
        return Score(0.0, 0.0, 1.0, 0)
    z = float(stats.norm.isf(alpha / 2))
    share = successes / n
    centre = (share + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(share * (1 - share) / n + z * z / (4 * n * n))
    return Score(share, centre - half, centre + half, n)


@dataclass(frozen=True, slots=True)
class Csat:
    """The share of satisfied answers (with its interval) and the mean answer."""

    satisfied: Score
    mean: float

    def to_json(self) -> dict[str, object]:
        return {"csat": self.satisfied.to_json(), "mean": self.mean}


def csat(answers: Iterable[int], top: int = 5, alpha: float = 0.05) -> Csat:
    """CSAT over answers from 1 to ``top``: satisfied are the two top boxes.

    >>> c = csat([5, 4, 4, 3, 5, 1, 2, 5])
    >>> round(c.satisfied.value, 3), c.mean
    (0.625, 3.625)
    """
    valid = [a for a in answers if 1 <= a <= top]
    satisfied = sum(1 for a in valid if a >= top - 1)
    mean = sum(valid) / len(valid) if valid else 0.0
    return Csat(wilson(satisfied, len(valid), alpha), mean)
