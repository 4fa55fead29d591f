"""The Bayesian figures against numerical integration (scipy.integrate.quad) of the same
posteriors, and the Monte Carlo ranking against the closed forms."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from juncture.analytics import bayes
from juncture.analytics.experiments import Moments

ARMS = [
    (30, 100, 10, 100),
    (120, 1000, 100, 1000),
    (3, 40, 5, 38),
    (0, 20, 1, 25),
    (510, 10000, 480, 9900),
]


def quad(f, low: float = 0.0, high: float = 1.0, points: list[float] | None = None) -> float:
    value, _ = integrate.quad(f, low, high, epsabs=1e-12, epsrel=1e-10, limit=500, points=points)
    return float(value)


def reference_greater(x: bayes.Beta, y: bayes.Beta) -> float:
    """P(X > Y) = integral of f_X(t) F_Y(t)."""
    fx, fy = stats.beta(x.a, x.b), stats.beta(y.a, y.b)
    return quad(lambda t: fx.pdf(t) * fy.cdf(t), points=[x.mean, y.mean])


def reference_loss(other: bayes.Beta, chosen: bayes.Beta) -> float:
    """E[max(O - C, 0)] = integral of f_C(c) E[(O - c)+], the inner expectation in closed
    form: E[(O - c)+] = E[O] sf_{Beta(a+1, b)}(c) - c sf_O(c)."""
    fo, fo_up = stats.beta(other.a, other.b), stats.beta(other.a + 1, other.b)
    fc = stats.beta(chosen.a, chosen.b)

    def inner(c: float) -> float:
        return float(other.mean * fo_up.sf(c) - c * fo.sf(c))

    return quad(lambda c: fc.pdf(c) * inner(c), points=[other.mean, chosen.mean])


@pytest.mark.parametrize(("ct", "nt", "cc", "nc"), ARMS)
def test_chance_to_beat_and_losses_equal_numerical_integration(
    ct: int, nt: int, cc: int, nc: int
) -> None:
    found = bayes.proportions(ct, nt, cc, nc)
    t, c = bayes.Beta.of(ct, nt), bayes.Beta.of(cc, nc)
    assert found.beats == pytest.approx(reference_greater(t, c), abs=1e-7)
    assert found.loss_treatment == pytest.approx(reference_loss(c, t), abs=1e-7)
    assert found.loss_control == pytest.approx(reference_loss(t, c), abs=1e-7)


def test_losses_differ_by_the_difference_of_means() -> None:
    """E[max(C-T,0)] - E[max(T-C,0)] = E[C] - E[T], an identity the closed forms must keep."""
    found = bayes.proportions(120, 1000, 100, 1000)
    t, c = bayes.Beta.of(120, 1000), bayes.Beta.of(100, 1000)
    assert found.loss_treatment - found.loss_control == pytest.approx(c.mean - t.mean, abs=1e-9)


@pytest.mark.parametrize(
    ("t", "c"),
    [
        (Moments(500, 12.0, 400.0), Moments(500, 10.0, 400.0)),
        (Moments(80, 3.0, 90.0), Moments(60, 4.0, 50.0)),
    ],
)
def test_means_equal_numerical_integration(t: Moments, c: Moments) -> None:
    found = bayes.means(t, c)
    diff = stats.norm(t.mean - c.mean, np.sqrt(t.variance / t.n + c.variance / c.n))
    wide = 12 * diff.std()
    beats = quad(diff.pdf, 0.0, diff.mean() + wide)
    loss_t = quad(lambda d: -d * diff.pdf(d), diff.mean() - wide, 0.0)
    assert found.beats == pytest.approx(beats, abs=1e-7)
    assert found.loss_treatment == pytest.approx(loss_t, abs=1e-7)


def test_the_monte_carlo_ranking_agrees_with_the_closed_form_for_two_arms() -> None:
    closed = bayes.proportions(120, 1000, 100, 1000)
    ranked = bayes.rank_proportions([(100, 1000), (120, 1000)], draws=400_000, seed=3)
    assert ranked.best[1] == pytest.approx(closed.beats, abs=0.003)
    assert ranked.loss[1] == pytest.approx(closed.loss_treatment, abs=2e-4)
    assert ranked.loss[0] == pytest.approx(closed.loss_control, abs=2e-4)
    assert bayes.rank_proportions(
        [(100, 1000), (120, 1000)], draws=1000, seed=3
    ) == bayes.rank_proportions([(100, 1000), (120, 1000)], draws=1000, seed=3)
