"""Maximum likelihood over log parameters: the search the lifetime-value models share."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from scipy import optimize

from juncture.errors import Conflict

Floats = npt.NDArray[np.float64]
NOT_ENOUGH_DATA = "not_enough_data"


def maximize(
    log_likelihood: Callable[[Floats], float], start: Floats, model: str
) -> tuple[Floats, float]:
    """The positive parameters that maximize ``log_likelihood`` (a function of the
    parameters themselves), and the maximum.

    The search runs over the parameters' logarithms, so each stays positive: L-BFGS-B with a
    numerical gradient, then Nelder-Mead from where it stopped when it did not converge.
    Raises ``errors.Conflict`` (code ``not_enough_data``) when neither converges.

    >>> found, best = maximize(lambda v: -float(((v - [2.0, 0.5]) ** 2).sum()), np.ones(2), "toy")
    >>> [round(float(v), 4) for v in found], round(best, 6)
    ([2.0, 0.5], -0.0)
    """

    def loss(logs: Floats) -> float:
        value = log_likelihood(np.exp(logs))
        return -value if np.isfinite(value) else float("inf")

    found = optimize.minimize(loss, np.log(start), method="L-BFGS-B")
    if not found.success:
        found = optimize.minimize(
            loss,
            found.x,
            method="Nelder-Mead",
            options={"xatol": 1e-9, "fatol": 1e-9, "maxiter": 8000},
        )
    if not found.success or not np.all(np.isfinite(found.x)):
        raise Conflict(f"{model} fit did not converge: {found.message}", code=NOT_ENOUGH_DATA)
    return np.exp(found.x), -float(found.fun)
