"""The BG/NBD model: how many purchases a customer will make, and whether they are still active.

Fader, Hardie and Lee (2005), "Counting Your Customers the Easy Way: An Alternative to the
Pareto/NBD Model", Marketing Science 24(2). While active, a customer buys at a Poisson rate
``lambda ~ Gamma(r, alpha)``; after each purchase they drop out with probability
``p ~ Beta(a, b)``. Each customer is summarized by ``x`` (repeat purchases: all purchases but
the first), ``t_x`` (the time of the last purchase, from the first) and ``T`` (the time from
the first purchase to the end of the observation), all in one unit of time (days, weeks).

:func:`fit` maximizes the paper's log-likelihood (its equation 6) over the logarithms of the
four parameters with scipy; :func:`expected_purchases` and :func:`probability_alive` are the
paper's equations 10 and 12. Pure functions over numpy arrays; no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from juncture.analytics import mle
from juncture.errors import Conflict

Floats = npt.NDArray[np.float64]
NOT_ENOUGH_DATA = mle.NOT_ENOUGH_DATA


@dataclass(frozen=True, slots=True)
class Summary:
    """Per customer: repeat purchases ``x``, last purchase ``t_x``, observed span ``T``.

    ``weight`` counts identical customers (1 each by default), so that a summary grouped by
    ``(x, t_x, T)`` fits as fast as the rows it stands for.
    """

    x: Floats
    t_x: Floats
    T: Floats
    weight: Floats

    @classmethod
    def of(
        cls,
        x: npt.ArrayLike,
        t_x: npt.ArrayLike,
        T: npt.ArrayLike,
        weight: npt.ArrayLike | None = None,
    ) -> Summary:
        xs = np.asarray(x, dtype=np.float64)
        ws = np.ones_like(xs) if weight is None else np.asarray(weight, dtype=np.float64)
        return cls(xs, np.asarray(t_x, dtype=np.float64), np.asarray(T, dtype=np.float64), ws)


@dataclass(frozen=True, slots=True)
class Params:
    """The four BG/NBD parameters and the log-likelihood they reached."""

    r: float
    alpha: float
    a: float
    b: float
    log_likelihood: float

    def to_json(self) -> dict[str, float]:
        return {
            "r": self.r,
            "alpha": self.alpha,
            "a": self.a,
            "b": self.b,
            "log_likelihood": self.log_likelihood,
        }


def log_likelihood(r: float, alpha: float, a: float, b: float, data: Summary) -> Floats:
    """Each customer's log-likelihood (the paper's equation 6, in logs for stability).

    >>> s = Summary.of([0, 2], [0.0, 30.43], [38.86, 38.86])
    >>> [round(float(v), 4) for v in log_likelihood(0.243, 4.414, 0.793, 2.426, s)]
    [-0.5547, -9.4586]
    """
    from scipy import special

    x, t_x, T = data.x, data.t_x, data.T
    head = (
        special.gammaln(r + x)
        - special.gammaln(r)
        + r * np.log(alpha)
        + special.betaln(a, b + x)
        - special.betaln(a, b)
    )
    stayed = -(r + x) * np.log(alpha + T)
    repeat = x > 0
    left = np.full_like(x, -np.inf)
    left[repeat] = (
        np.log(a) - np.log(b + x[repeat] - 1) - (r + x[repeat]) * np.log(alpha + t_x[repeat])
    )
    result: Floats = head + np.logaddexp(stayed, left)
    return result


def fit(data: Summary, start: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)) -> Params:
    """The maximum-likelihood parameters for the customers in ``data`` (searched over their
    logarithms, see ``mle.maximize``). Raises ``errors.Conflict`` (code ``not_enough_data``)
    when no customer made a repeat purchase or the search does not converge.
    """
    if not np.any(data.x > 0):
        raise Conflict("BG/NBD needs a customer with a repeat purchase", code=NOT_ENOUGH_DATA)

    def total(params: Floats) -> float:
        r, alpha, a, b = params
        return float(np.dot(data.weight, log_likelihood(r, alpha, a, b, data)))

    found, best = mle.maximize(total, np.array(start), "BG/NBD")
    r, alpha, a, b = (float(v) for v in found)
    return Params(r, alpha, a, b, best)


def probability_alive(params: Params, data: Summary) -> Floats:
    """The probability that each customer is still active at ``T`` (equation 12); 1 for a
    customer with no repeat purchase, since the model lets a customer drop out only after
    a purchase.

    >>> p = Params(0.243, 4.414, 0.793, 2.426, 0.0)
    >>> s = Summary.of([0, 2, 2], [0.0, 30.43, 5.0], [38.86] * 3)
    >>> [round(float(v), 3) for v in probability_alive(p, s)]
    [1.0, 0.727, 0.124]
    """
    return 1.0 / (1.0 + np.exp(_log_dropped_odds(params, data)))


def expected_purchases(params: Params, data: Summary, t: float) -> Floats:
    """Each customer's expected number of purchases in the next ``t`` units of time
    (equation 10).

    >>> p = Params(0.243, 4.414, 0.793, 2.426, 0.0)
    >>> round(float(expected_purchases(p, Summary.of([2], [30.43], [38.86]), 39.0)[0]), 3)
    1.226
    """
    from scipy import special

    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x, T = data.x, data.T
    z = t / (alpha + T + t)
    hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
    grow = 1.0 - np.exp((r + x) * np.log((alpha + T) / (alpha + T + t))) * hyp
    first = (a + b + x - 1) / (a - 1) * grow
    result: Floats = first / (1.0 + np.exp(_log_dropped_odds(params, data)))
    return result


def expected_purchases_new(params: Params, t: float) -> float:
    """The expected number of repeat purchases of a new customer within ``t`` of the first
    (equation 7): what a cohort's cumulative purchases are forecast from."""
    from scipy import special

    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    hyp = special.hyp2f1(r, b, a + b - 1, t / (alpha + t))
    return float((a + b - 1) / (a - 1) * (1.0 - (alpha / (alpha + t)) ** r * hyp))


def _log_dropped_odds(params: Params, data: Summary) -> Floats:
    """log of ``delta(x>0) * a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x)``; -inf when x is 0."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    x = data.x
    out = np.full_like(x, -np.inf)
    repeat = x > 0
    xr = x[repeat]
    out[repeat] = (
        np.log(a)
        - np.log(b + xr - 1)
        + (r + xr) * (np.log(alpha + data.T[repeat]) - np.log(alpha + data.t_x[repeat]))
    )
    return out
