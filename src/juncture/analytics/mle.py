"""Maximum likelihood over log parameters: the search the lifetime-value models share."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from juncture.errors import Conflict

Floats = npt.NDArray[np.float64]
NOT_ENOUGH_DATA = "not_enough_data"
LOG_BOUND = 9.0  # parameters between about 1e-4 and 8,100
FLAT = 1e-3  # the least curvature of the log-likelihood at its maximum that identifies it


def maximize(
    log_likelihood: Callable[[Floats], float], start: Floats, model: str
) -> tuple[Floats, float]:
    """The positive parameters that maximize ``log_likelihood`` (a function of the
    parameters themselves), and the maximum.

    The search runs over the parameters' logarithms, so each stays positive, within
    ``exp(-LOG_BOUND)`` to ``exp(LOG_BOUND)``: L-BFGS-B with a numerical gradient, then
    Nelder-Mead from where it stopped when it did not converge. Raises ``errors.Conflict``
    (code ``not_enough_data``) when neither converges, or when a parameter runs to its bound:
    the data do not identify the model (customers too alike, say, all with the same spend).

    >>> found, best = maximize(lambda v: -float(((v - [2.0, 0.5]) ** 2).sum()), np.ones(2), "toy")
    >>> [round(float(v), 4) for v in found], round(best, 6)
    ([2.0, 0.5], -0.0)
    """
    from scipy import optimize

    def loss(logs: Floats) -> float:
        value = log_likelihood(np.exp(logs))
        return -value if np.isfinite(value) else float("inf")

    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(start)
    with np.errstate(all="ignore"):  # the search tries extreme values; a failure shows below
        precise = {"ftol": 1e-14, "gtol": 1e-9, "maxiter": 5000}
        found = optimize.minimize(
            loss, np.log(start), method="L-BFGS-B", bounds=bounds, options=precise
        )
        if not found.success:
            first = found
            options = {"xatol": 1e-9, "fatol": 1e-9, "maxiter": 8000}
            found = optimize.minimize(
                loss, found.x, method="Nelder-Mead", bounds=bounds, options=options
            )
            # Both stopped short of their tolerances (L-BFGS-B on a line search that lost
            # precision, Nelder-Mead on its iteration limit) at the same likelihood: that
            # is the maximum as precisely as the data give it.
            agree = abs(found.fun - first.fun) <= 1e-7 * max(1.0, abs(first.fun))
            converged = bool(found.success) or (np.isfinite(found.fun) and agree)
        else:
            converged = True
    if not converged or not np.all(np.isfinite(found.x)):
        raise Conflict(f"{model} fit did not converge: {found.message}", code=NOT_ENOUGH_DATA)
    if np.any(np.abs(found.x) >= LOG_BOUND - 1e-3) or _flat(loss, found.x):
        raise Conflict(
            f"{model} cannot be fitted: the customers' orders do not vary enough",
            code=NOT_ENOUGH_DATA,
        )
    return np.exp(found.x), -float(found.fun)


def _flat(loss: Callable[[Floats], float], at: Floats, step: float = 1e-3) -> bool:
    """Whether the loss is flat in some direction at ``at`` (its Hessian's least eigenvalue,
    by central differences, under :data:`FLAT`): the maximum lies on a ridge running to the
    bounds, where a search stops wherever its path ends (customers too alike), so the
    parameters found there mean nothing."""
    n = len(at)
    steps = np.eye(n) * step
    hessian = np.empty((n, n))
    for i in range(n):
        for j in range(n):
            di, dj = steps[i], steps[j]
            hessian[i, j] = (
                loss(at + di + dj) - loss(at + di - dj) - loss(at - di + dj) + loss(at - di - dj)
            ) / (4 * step * step)
    with np.errstate(all="ignore"):
        least = np.linalg.eigvalsh((hessian + hessian.T) / 2)[0]
    return not np.isfinite(least) or bool(least < FLAT)
