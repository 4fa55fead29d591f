"""The mixture likelihood ratio against its definition integrated numerically, and the
interval's edges where the test would just reject."""

from __future__ import annotations

import itertools
import math

import pytest
from scipy import integrate, stats

from juncture.analytics.sequential import Look, half_width, log_ratio, monitor


@pytest.mark.parametrize(
    ("d", "v", "tau2"), [(0.02, 1e-4, 4e-4), (-0.5, 0.04, 0.25), (0.0, 2.0, 1.0), (3.0, 1.0, 0.1)]
)
def test_the_ratio_is_the_mixture_of_likelihood_ratios(d: float, v: float, tau2: float) -> None:
    """Lambda = integral of N(d; theta, v) / N(d; 0, v) dH(theta), H = N(0, tau2)."""
    sd, tau = math.sqrt(v), math.sqrt(tau2)

    def integrand(theta: float) -> float:
        ratio = stats.norm.pdf(d, theta, sd) / stats.norm.pdf(d, 0.0, sd)
        return float(ratio * stats.norm.pdf(theta, 0.0, tau))

    reference, _ = integrate.quad(
        integrand, -12 * tau, 12 * tau, epsabs=1e-13, epsrel=1e-11, limit=400
    )
    assert log_ratio(Look(d, v), tau2) == pytest.approx(math.log(reference), abs=1e-6)


def test_the_interval_ends_where_the_ratio_reaches_one_over_alpha() -> None:
    look, tau2 = Look(0.013, 4e-5), 1e-4
    half = half_width(look, tau2, alpha=0.05)
    for edge in (look.difference - half, look.difference + half):
        assert log_ratio(look, tau2, null=edge) == pytest.approx(math.log(20.0), abs=1e-9)


def test_the_p_value_never_rises_and_the_interval_never_widens() -> None:
    looks = [Look(0.03, 4e-4), Look(0.001, 2e-4), Look(0.02, 1e-4)]
    results = [monitor(looks[: k + 1], tau2=4e-4) for k in range(len(looks))]
    for before, after in itertools.pairwise(results):
        assert after.p_value <= before.p_value
        assert before.low <= after.low and after.high <= before.high


def test_looks_without_a_variance_are_skipped() -> None:
    assert monitor([Look(0.0, 0.0)], tau2=1.0).p_value == 1.0
