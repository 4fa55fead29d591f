"""The Gamma-Gamma model of spend: what a customer's future purchases will be worth.

Fader, Hardie and Lee (2005), "RFM and CLV: Using Iso-Value Curves for Customer Base
Analysis", Journal of Marketing Research 42(4), and Hardie's note "The Gamma-Gamma Model of
Monetary Value" (2013). Each purchase's value is ``Gamma(p, nu)``; across customers
``nu ~ Gamma(q, gamma)``. A customer is summarized by ``x`` purchases (of those whose value is
known, usually the repeat purchases) and their mean value ``m``; the model assumes spend does
not depend on how often a customer buys.

:func:`fit` maximizes the note's log-likelihood over the logarithms of ``p, q, gamma`` with
scipy; :func:`expected_spend` is the posterior mean value of a customer's future purchases,
which weighs their own mean against the population's by how many purchases it rests on.
Pure functions over numpy arrays; no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from juncture.analytics import mle
from juncture.errors import Conflict

Floats = npt.NDArray[np.float64]
NOT_ENOUGH_DATA = mle.NOT_ENOUGH_DATA


@dataclass(frozen=True, slots=True)
class Params:
    """The three Gamma-Gamma parameters and the log-likelihood they reached."""

    p: float
    q: float
    gamma: float
    log_likelihood: float

    @property
    def population_mean(self) -> float:
        """The mean value of a purchase across all customers, ``p * gamma / (q - 1)``
        (infinite when ``q <= 1``)."""
        return self.p * self.gamma / (self.q - 1) if self.q > 1 else float("inf")

    def to_json(self) -> dict[str, float]:
        return {
            "p": self.p,
            "q": self.q,
            "gamma": self.gamma,
            "log_likelihood": self.log_likelihood,
        }


def log_likelihood(p: float, q: float, gamma: float, x: Floats, m: Floats) -> Floats:
    """Each customer's log-likelihood of their mean value ``m`` over ``x`` purchases.

    >>> x, m = np.array([1.0, 4.0]), np.array([20.0, 35.5])
    >>> [round(float(v), 4) for v in log_likelihood(6.25, 3.74, 15.44, x, m)]
    [-3.5942, -4.0743]
    """
    from scipy import special

    px = p * x
    result: Floats = (
        special.gammaln(px + q)
        - special.gammaln(px)
        - special.gammaln(q)
        + q * np.log(gamma)
        + (px - 1) * np.log(m)
        + px * np.log(x)
        - (px + q) * np.log(gamma + m * x)
    )
    return result


def fit(x: Sequence[float] | Floats, m: Sequence[float] | Floats) -> Params:
    """The maximum-likelihood parameters for customers with ``x`` >= 1 purchases of mean
    value ``m`` > 0 (others are left out). Raises ``errors.Conflict`` (``not_enough_data``)
    with fewer than two such customers or when the search (``mle.maximize``) does not
    converge.
    """
    xs, ms = np.asarray(x, dtype=np.float64), np.asarray(m, dtype=np.float64)
    keep = (xs >= 1) & (ms > 0)
    xs, ms = xs[keep], ms[keep]
    if len(xs) < 2:
        raise Conflict("Gamma-Gamma needs two customers with spend", code=NOT_ENOUGH_DATA)

    def total(params: Floats) -> float:
        p, q, gamma = params
        return float(np.sum(log_likelihood(p, q, gamma, xs, ms)))

    found, best = mle.maximize(total, np.ones(3), "Gamma-Gamma")
    p, q, gamma = (float(v) for v in found)
    return Params(p, q, gamma, best)


def expected_spend(params: Params, x: Floats, m: Floats) -> Floats:
    """The expected value of each customer's next purchase: ``(gamma + m x) p / (p x + q - 1)``.
    A customer with no purchase of known value (``x`` = 0) gets the population mean.

    >>> params = Params(6.25, 3.74, 15.44, 0.0)
    >>> [round(float(v), 2) for v in expected_spend(params, np.array([0.0, 1.0, 10.0]),
    ...                                               np.array([0.0, 100.0, 100.0]))]
    [35.22, 80.26, 97.28]
    """
    p, q, gamma = params.p, params.q, params.gamma
    result: Floats = (gamma + m * x) * p / (p * x + q - 1)
    return result
