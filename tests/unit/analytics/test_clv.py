"""BG/NBD and Gamma-Gamma against the published estimates on the data set they were published
with, and against customers simulated from the models themselves (calibration: the predicted
probability alive and future purchases match what the simulated customers did).

The data set (tests/fixtures/cdnow_summary.csv) is the CDNOW 1/10 sample of 2,357 customers
summarized as Fader, Hardie and Lee published it: x (repeat purchases), t_x and T in weeks,
zbar (mean value of the repeat purchases in dollars). Copied from the ``lifetimes`` package
0.11.3 (``lifetimes/datasets/cdnow_customers_summary_with_transactions.csv``, MIT licence,
Copyright (c) 2015 Cameron Davidson-Pilon), which took it from Bruce Hardie's website.
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pytest

from juncture.analytics import bgnbd, clv, gamma_gamma
from juncture.errors import Conflict

CDNOW = Path(__file__).parents[2] / "fixtures" / "cdnow_summary.csv"
PAPER = bgnbd.Params(0.243, 4.414, 0.793, 2.426, 0.0)


def cdnow() -> dict[str, np.ndarray]:
    with CDNOW.open() as f:
        rows = list(csv.DictReader(f))
    return {k: np.array([float(r[k]) for r in rows]) for k in ("x", "t_x", "T", "zbar")}


def sig3(value: float) -> float:
    return float(f"{value:.3g}")


def test_the_fixture_is_the_papers_sample() -> None:
    data = cdnow()
    assert len(data["x"]) == 2357
    assert int(data["x"].sum()) == 2457  # repeat purchases in the 39-week calibration period
    assert int((data["x"] > 0).sum()) == 946


def test_bgnbd_reproduces_the_papers_estimates_to_three_significant_figures() -> None:
    data = cdnow()
    found = bgnbd.fit(bgnbd.Summary.of(data["x"], data["t_x"], data["T"]))
    assert (sig3(found.r), sig3(found.alpha), sig3(found.a), sig3(found.b)) == (
        0.243,
        4.41,
        0.793,
        2.43,
    )
    # The paper: r = 0.243, alpha = 4.414, a = 0.793, b = 2.426, LL = -9582.4.
    assert found.alpha == pytest.approx(4.414, abs=5e-4)
    assert found.b == pytest.approx(2.426, abs=5e-4)
    assert found.log_likelihood == pytest.approx(-9582.4, abs=0.05)


def test_bgnbd_reproduces_the_papers_conditional_expectation() -> None:
    """The paper's worked example: 2 repeat purchases, the last at 30.43 weeks, T = 38.86:
    1.226 purchases expected in the next 39 weeks."""
    one = bgnbd.Summary.of([2.0], [30.43], [38.86])
    assert float(bgnbd.expected_purchases(PAPER, one, 39.0)[0]) == pytest.approx(1.226, abs=5e-4)


def test_a_fit_from_grouped_customers_equals_the_fit_from_rows() -> None:
    data = cdnow()
    keys = np.stack([data["x"], data["t_x"], data["T"]], axis=1)
    unique, counts = np.unique(keys, axis=0, return_counts=True)
    assert len(unique) < len(keys)
    grouped = bgnbd.fit(bgnbd.Summary.of(unique[:, 0], unique[:, 1], unique[:, 2], counts))
    assert grouped.r == pytest.approx(0.2426, abs=1e-4)
    assert grouped.log_likelihood == pytest.approx(-9582.43, abs=0.01)


def test_gamma_gamma_reproduces_the_published_estimates() -> None:
    """Hardie's note on the same customers (the 946 with a repeat purchase): p = 6.25,
    q = 3.74, gamma = 15.44."""
    data = cdnow()
    found = gamma_gamma.fit(data["x"], data["zbar"])
    assert (sig3(found.p), sig3(found.q), sig3(found.gamma)) == (6.25, 3.74, 15.4)
    assert found.population_mean == pytest.approx(6.25 * 15.44 / 2.74, rel=5e-3)


def test_fits_refuse_data_that_cannot_identify_the_model() -> None:
    with pytest.raises(Conflict):
        bgnbd.fit(bgnbd.Summary.of([0.0, 0.0], [0.0, 0.0], [10.0, 20.0]))
    with pytest.raises(Conflict):
        gamma_gamma.fit([0.0, 1.0], [0.0, 10.0])


def simulate(params: bgnbd.Params, n: int, seed: int) -> dict[str, np.ndarray]:
    """Customers drawn from the BG/NBD process: observed until T, then followed for 39 more
    weeks. Returns the summary, whether each was alive at T and their purchases after T."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(params.r, 1.0 / params.alpha, n)
    drop = rng.beta(params.a, params.b, n)
    big_t = rng.uniform(20.0, 40.0, n)
    x, t_x, future = np.zeros(n), np.zeros(n), np.zeros(n)
    now, alive = np.zeros(n), np.ones(n, dtype=bool)
    alive_at_t = np.ones(n, dtype=bool)
    while alive.any():
        now = now + rng.exponential(1.0, n) / np.maximum(lam, 1e-300)
        bought = alive & (now <= big_t + 39.0)
        before = bought & (now <= big_t)
        x += before
        t_x = np.where(before, now, t_x)
        future += bought & ~before
        died = bought & (rng.random(n) < drop)
        alive_at_t &= ~(died & (now <= big_t))
        alive = bought & ~died
    return {"x": x, "t_x": t_x, "T": big_t, "alive": alive_at_t, "future": future}


def test_predictions_are_calibrated_on_customers_simulated_from_the_model() -> None:
    sim = simulate(PAPER, 40_000, seed=11)
    summary = bgnbd.Summary.of(sim["x"], sim["t_x"], sim["T"])
    alive = bgnbd.probability_alive(PAPER, summary)
    repeat = sim["x"] > 0
    observed = sim["alive"][repeat].mean()
    se = math.sqrt(observed * (1 - observed) / repeat.sum())
    assert alive[repeat].mean() == pytest.approx(observed, abs=4 * se)
    expected = bgnbd.expected_purchases(PAPER, summary, 39.0)
    se_future = sim["future"].std() / math.sqrt(len(summary.x))
    assert expected.mean() == pytest.approx(sim["future"].mean(), abs=4 * se_future)
    busy = sim["x"] >= 3  # the conditioning matters: heavy buyers buy more
    assert expected[busy].mean() == pytest.approx(sim["future"][busy].mean(), rel=0.1)


def test_the_fit_recovers_the_parameters_it_was_simulated_from() -> None:
    sim = simulate(PAPER, 20_000, seed=5)
    found = bgnbd.fit(bgnbd.Summary.of(sim["x"], sim["t_x"], sim["T"]))
    assert found.r == pytest.approx(PAPER.r, rel=0.1)
    assert found.alpha == pytest.approx(PAPER.alpha, rel=0.15)
    assert found.a == pytest.approx(PAPER.a, rel=0.25)
    assert found.b == pytest.approx(PAPER.b, rel=0.25)


def test_expected_spend_is_the_posterior_mean_of_simulated_spenders() -> None:
    rng = np.random.default_rng(3)
    truth = gamma_gamma.Params(6.25, 3.74, 15.44, 0.0)
    n = 20_000
    nu = rng.gamma(truth.q, 1.0 / truth.gamma, n)
    x = rng.integers(1, 6, n).astype(float)
    m = rng.gamma(truth.p * x, 1.0 / (nu * x))  # the mean of x Gamma(p, nu) values
    next_value = rng.gamma(truth.p, 1.0 / nu)
    predicted = gamma_gamma.expected_spend(truth, x, m)
    se = next_value.std() / math.sqrt(n)
    assert predicted.mean() == pytest.approx(next_value.mean(), abs=4 * se)
    found = gamma_gamma.fit(x, m)
    assert found.p == pytest.approx(truth.p, rel=0.1)
    assert found.population_mean == pytest.approx(truth.population_mean, rel=0.05)


def test_clv_is_purchases_times_value_and_discounting_lowers_it() -> None:
    data = cdnow()
    model = clv.Model(
        bgnbd.fit(bgnbd.Summary.of(data["x"], data["t_x"], data["T"])),
        gamma_gamma.fit(data["x"], data["zbar"]),
    )
    # CDNOW in days: first order on day 0, observed until T weeks.
    orders = data["x"] + 1
    customers = clv.Customers(
        orders,
        np.zeros_like(orders),
        data["t_x"] * 7,
        data["T"] * 7,
        data["zbar"] * orders,
        data["zbar"] * data["x"],
    )
    weekly = clv.Model(
        bgnbd.Params(
            model.purchases.r, model.purchases.alpha * 7, model.purchases.a, model.purchases.b, 0.0
        ),
        model.spend,
    )
    plain = clv.predict(weekly, customers, horizon_days=273.0)
    assert plain.clv == pytest.approx(plain.purchases * plain.value)
    weeks = bgnbd.expected_purchases(
        model.purchases,
        clv.Customers.summary(
            clv.Customers(
                data["x"] + 1, np.zeros_like(orders), data["t_x"], data["T"], orders, orders
            )
        ),
        39.0,
    )
    assert plain.purchases == pytest.approx(weeks, rel=1e-9)
    discounted = clv.predict(weekly, customers, horizon_days=273.0, discount=0.01)
    assert np.all(discounted.clv < plain.clv)
