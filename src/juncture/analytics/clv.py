"""Customer lifetime value: historic (what a customer has spent) and predicted (BG/NBD for
how many purchases, Gamma-Gamma for what each is worth).

The predicted value over a horizon sums, period by period, the purchases BG/NBD expects in
that period times the value Gamma-Gamma expects of each, discounted per period:
``sum_k (E[X(k)] - E[X(k-1)]) * E[M] / (1 + d)^k``. With no discount it is the expected
purchases over the whole horizon times the expected value. Pure; no I/O.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np

from juncture.analytics import bgnbd, gamma_gamma
from juncture.analytics.bgnbd import Floats
from juncture.store.customer_orders import OrderHistory


@dataclass(frozen=True, slots=True)
class Customers:
    """Order summaries in days, one entry per customer (arrays of one length).

    ``orders`` counts all orders, ``first`` and ``last`` are the days of the first and the
    last order and ``now`` the day of the observation, all on one scale (days since some
    origin); ``spend`` is the total value of the orders and ``repeat_spend`` the value of
    all but the first.
    """

    orders: Floats
    first: Floats
    last: Floats
    now: Floats
    spend: Floats
    repeat_spend: Floats

    @classmethod
    def of(cls, histories: Iterable[OrderHistory], now: dt.datetime) -> tuple[list[str], Customers]:
        """The profile ids and their summaries from stored order histories. Orders of one
        calendar day (UTC) count as one purchase, as in the models' papers; days are whole
        days to ``now``'s."""
        ids: list[str] = []
        columns: list[tuple[float, float, float, float, float]] = []
        for history in histories:
            days: dict[int, float] = defaultdict(float)
            for at, revenue in history.orders:
                days[at.astimezone(dt.UTC).date().toordinal()] += revenue
            ordered = sorted(days)
            total = sum(days.values())
            columns.append((len(ordered), ordered[0], ordered[-1], total, total - days[ordered[0]]))
            ids.append(history.profile_id)
        table = np.array(columns, dtype=np.float64).reshape(-1, 5)
        today = np.full(len(ids), float(now.astimezone(dt.UTC).date().toordinal()))
        orders, first, last, spend, repeat = table.T
        return ids, cls(orders, first, last, today, spend, repeat)

    def summary(self) -> bgnbd.Summary:
        """BG/NBD's view: repeat purchases, the last one's day and the span, from the first."""
        return bgnbd.Summary.of(
            np.maximum(self.orders - 1, 0), self.last - self.first, self.now - self.first
        )

    def mean_repeat_value(self) -> tuple[Floats, Floats]:
        """Gamma-Gamma's view: the number of repeat purchases and their mean value."""
        x = np.maximum(self.orders - 1, 0)
        m = np.divide(self.repeat_spend, x, out=np.zeros_like(x), where=x > 0)
        return x, m


@dataclass(frozen=True, slots=True)
class Model:
    """Both fitted models, ready to predict."""

    purchases: bgnbd.Params
    spend: gamma_gamma.Params

    def to_json(self) -> dict[str, dict[str, float]]:
        return {"bgnbd": self.purchases.to_json(), "gamma_gamma": self.spend.to_json()}


@dataclass(frozen=True, slots=True)
class Prediction:
    """Per customer, in the order given: probability alive, purchases expected within the
    horizon, the expected value of one purchase, and the predicted value."""

    alive: Floats
    purchases: Floats
    value: Floats
    clv: Floats


def fit(customers: Customers) -> Model:
    """Fit both models to the customers' order history, taken in one canonical order (by
    their figures, not their ids) so that the same customers always give the same fit: the
    searches sum the likelihood in that order, and on a base the data barely identify, the
    order of the sum decided whether a search reached its bound."""
    c = customers
    order = np.lexsort((c.repeat_spend, c.spend, c.now - c.last, c.last - c.first, c.orders))
    same = Customers(*(np.asarray(column)[order] for column in (
        c.orders, c.first, c.last, c.now, c.spend, c.repeat_spend)))  # fmt: skip
    x, m = same.mean_repeat_value()
    return Model(bgnbd.fit(same.summary()), gamma_gamma.fit(x, m))


def predict(
    model: Model,
    customers: Customers,
    horizon_days: float = 365.0,
    period_days: float = 30.0,
    discount: float = 0.0,
) -> Prediction:
    """Predicted value over ``horizon_days``, discounted by ``discount`` per ``period_days``.

    >>> model = Model(bgnbd.Params(0.243, 4.414, 0.793, 2.426, 0.0),
    ...               gamma_gamma.Params(6.25, 3.74, 15.44, 0.0))
    >>> one = lambda v: np.array([v])
    >>> c = Customers(one(3.0), one(0.0), one(200.0), one(270.0), one(90.0), one(60.0))
    >>> found = predict(model, c, horizon_days=365.0, period_days=365.0)
    >>> round(float(found.value[0]), 2), round(float(found.clv[0]), 2)
    (30.94, 49.78)
    """
    summary = customers.summary()
    x, m = customers.mean_repeat_value()
    value = gamma_gamma.expected_spend(model.spend, x, m)
    ends = np.append(np.arange(period_days, horizon_days, period_days), horizon_days)
    clv = np.zeros_like(value)
    before = np.zeros_like(value)
    for k, end in enumerate(ends, start=1):
        upto = bgnbd.expected_purchases(model.purchases, summary, float(end))
        clv += (upto - before) * value / (1.0 + discount) ** k
        before = upto
    return Prediction(bgnbd.probability_alive(model.purchases, summary), before, value, clv)


@dataclass(frozen=True, slots=True)
class Scores:
    """A fitted model and each profile's prediction over ``horizon_days``."""

    model: Model
    profile_ids: list[str]
    customers: Customers
    prediction: Prediction
    horizon_days: float

    def trait(self, i: int, now: dt.datetime) -> dict[str, Any]:
        """The ``clv`` trait of the ``i``-th profile: what segments, journeys and templates
        read (``traits.clv.predicted``, ``traits.clv.p_alive``, ...)."""
        p, c = self.prediction, self.customers
        return {
            "predicted": round(float(p.clv[i]), 2),
            "p_alive": round(float(p.alive[i]), 4),
            "expected_orders": round(float(p.purchases[i]), 3),
            "order_value": round(float(p.value[i]), 2),
            "historic": round(float(c.spend[i]), 2),
            "orders": int(c.orders[i]),
            "horizon_days": self.horizon_days,
            "at": now.isoformat(),
        }


def score(
    histories: Iterable[OrderHistory],
    now: dt.datetime,
    horizon_days: float = 365.0,
    discount: float = 0.0,
) -> Scores:
    """Fit both models to the customers' histories and predict each one's value.
    Raises ``errors.Conflict`` (``not_enough_data``) when the models cannot be fitted."""
    ids, customers = Customers.of(histories, now)
    model = fit(customers)
    prediction = predict(model, customers, horizon_days, discount=discount)
    return Scores(model, ids, customers, prediction, horizon_days)
