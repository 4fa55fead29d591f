"""Bayesian statistics for experiments: the chance that a treatment beats its control, and
the expected loss of choosing it.

Conversion rates get a uniform ``Beta(1, 1)`` prior, so an arm with ``k`` conversions among
``n`` profiles has the posterior ``Beta(k + 1, n - k + 1)``. For two arms both figures are
closed forms (Evan Miller's sum for ``P(B > A)``; the expected loss from it, as in Chris
Stucchio's note on Bayesian A/B testing); for more arms (A/B/n) they come from seeded Monte
Carlo draws. Means (revenue per customer) use the normal approximation of each arm's mean,
which also gives closed forms.

The *expected loss* of choosing an arm is ``E[max(best other - chosen, 0)]``: what the
choice costs on average when it is wrong, in the metric's own unit (rate points, or money
per customer). A common rule ships a treatment when its loss falls under a threshold the
business can tolerate. Pure; no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from juncture.analytics.experiments import Moments


@dataclass(frozen=True, slots=True)
class Beta:
    """A posterior over a conversion rate."""

    a: float
    b: float

    @classmethod
    def of(cls, converted: int, n: int) -> Beta:
        """The posterior after ``converted`` of ``n`` under the uniform prior."""
        return cls(converted + 1.0, n - converted + 1.0)

    @property
    def mean(self) -> float:
        return self.a / (self.a + self.b)


@dataclass(frozen=True, slots=True)
class Chance:
    """The chance the treatment beats the control, and the expected loss of each choice."""

    beats: float
    loss_treatment: float
    loss_control: float

    def to_json(self) -> dict[str, float]:
        return {
            "chance_to_beat_control": self.beats,
            "expected_loss_treatment": self.loss_treatment,
            "expected_loss_control": self.loss_control,
        }


def prob_greater(x: Beta, y: Beta) -> float:
    """``P(X > Y)`` for independent Beta variables, ``x.a`` a whole number (as every
    posterior of :meth:`Beta.of` is).

    >>> round(prob_greater(Beta.of(30, 100), Beta.of(10, 100)), 6)
    0.999811
    """
    from scipy import special

    i = np.arange(int(x.a))
    terms = (
        special.betaln(y.a + i, x.b + y.b)
        - np.log(x.b + i)
        - special.betaln(1 + i, x.b)
        - special.betaln(y.a, y.b)
    )
    return float(np.clip(np.exp(special.logsumexp(terms)), 0.0, 1.0))


def proportions(converted_t: int, n_t: int, converted_c: int, n_c: int) -> Chance:
    """Treatment against control conversion, in closed form.

    >>> c = proportions(120, 1000, 100, 1000)
    >>> round(c.beats, 4), round(c.loss_treatment, 6), round(c.loss_control, 6)
    (0.9232, 0.000485, 0.020445)
    """
    t, c = Beta.of(converted_t, n_t), Beta.of(converted_c, n_c)
    return Chance(prob_greater(t, c), _loss(c, t), _loss(t, c))


def _loss(other: Beta, chosen: Beta) -> float:
    """``E[max(other - chosen, 0)]`` = ``E[other; other > chosen] - E[chosen; other > chosen]``,
    each term a Beta mean times a probability with one parameter moved up by one."""
    up_other = Beta(other.a + 1, other.b)
    up_chosen = Beta(chosen.a + 1, chosen.b)
    first = other.mean * prob_greater(up_other, chosen)
    second = chosen.mean * prob_greater(other, up_chosen)
    return max(first - second, 0.0)


def means(t: Moments, c: Moments) -> Chance:
    """Treatment against control means, each mean approximately normal with its standard
    error; flat priors.

    >>> c = means(Moments(500, 12.0, 400.0), Moments(500, 10.0, 400.0))
    >>> round(c.beats, 4), round(c.loss_treatment, 4), round(c.loss_control, 4)
    (0.9431, 0.0307, 2.0307)
    """
    from scipy import stats

    diff = t.mean - c.mean
    se = math.sqrt(t.variance / max(t.n, 1) + c.variance / max(c.n, 1))
    if se == 0:
        return Chance(float(diff > 0), max(-diff, 0.0), max(diff, 0.0))
    z = diff / se
    loss_t = se * float(stats.norm.pdf(z)) - diff * float(stats.norm.sf(z))
    return Chance(float(stats.norm.cdf(z)), loss_t, loss_t + diff)


@dataclass(frozen=True, slots=True)
class Ranking:
    """Per arm (in the order given): the chance it is the best and the expected loss of
    choosing it, from Monte Carlo draws."""

    best: tuple[float, ...]
    loss: tuple[float, ...]


def rank_proportions(
    arms: Sequence[tuple[int, int]], draws: int = 200_000, seed: int = 0
) -> Ranking:
    """A/B/n: for arms of ``(converted, n)``, each arm's chance to be the best and expected
    loss, from ``draws`` seeded draws of the posteriors (the same seed, the same answer).

    >>> r = rank_proportions([(100, 1000), (120, 1000), (90, 1000)])
    >>> [round(v, 2) for v in r.best]
    [0.07, 0.92, 0.01]
    """
    rng = np.random.default_rng(seed)
    samples = np.stack([rng.beta(k + 1.0, n - k + 1.0, draws) for k, n in arms])
    top = samples.max(axis=0)
    winners = np.bincount(samples.argmax(axis=0), minlength=len(arms)) / draws
    losses = (top - samples).mean(axis=1)
    return Ranking(tuple(float(v) for v in winners), tuple(float(v) for v in losses))
