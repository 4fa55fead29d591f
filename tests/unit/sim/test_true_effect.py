"""A journey's measured lift against the simulator's true effect, over many seeds.

Each seed runs a small simulated retailer with a randomized cart reminder: a customer's first
abandoned cart enters them, half at random held out, the other half emailed about their cart
an hour later (at the next step, as the demo's dispatcher would). The measured lift is the
difference in conversion (an order after entering) with its 95% interval; the true effect is
what :mod:`juncture.sim.counterfactual` says the emails changed. The intervals must cover it
about 95% of the time, and the replay must reproduce the run it replays exactly.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, replace

import pytest

from juncture.analytics.experiments import Lift, lift
from juncture.sim import SimConfig, Simulation
from juncture.sim import counterfactual as cf
from juncture.sim.response import Delivery
from juncture.sim.truth import GroundTruth

START = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
STEP = dt.timedelta(minutes=10)
JOURNEY = "reminder"


@dataclass(frozen=True, slots=True)
class Run:
    config: SimConfig
    truth: GroundTruth
    arrivals: list[Delivery]
    entered: dict[str, tuple[bool, dt.datetime]]  # customer -> (treated, when)
    index: dict[str, str]


def run(seed: int, customers: int = 200, days: int = 14) -> Run:
    config = SimConfig(start=START, seed=seed, customers=customers, days=days)
    sim = Simulation(config)
    arms = random.Random(f"arms:{seed}")
    entered: dict[str, tuple[bool, dt.datetime]] = {}
    pending: list[Delivery] = []
    arrivals: list[Delivery] = []
    seen = 0
    for _ in sim.iter_batches(STEP):
        for cart in sim.ground_truth.abandonments[seen:]:
            if cart.user_id not in entered:
                treated = arms.random() < 0.5
                entered[cart.user_id] = (treated, cart.at)
                if treated:
                    pending.append(reminder(cart.user_id, cart.at, cart.product_ids))
        seen = len(sim.ground_truth.abandonments)
        for delivery in [d for d in pending if d.at <= sim.now]:
            arrivals.append(replace(delivery, at=sim.now))
            sim.deliver(arrivals[-1])
        pending = [d for d in pending if d.at > sim.now]
    return Run(config, sim.ground_truth, arrivals, entered, cf.identities(sim.customers))


def reminder(user_id: str, at: dt.datetime, products: tuple[str, ...]) -> Delivery:
    return Delivery(
        at=at + dt.timedelta(hours=1),
        channel="email",
        template="cart_reminder",
        user_id=user_id,
        product_ids=products,
        journey=JOURNEY,
    )


def measured(r: Run) -> Lift:
    orders = r.truth.order_times()
    counts = {True: [0, 0], False: [0, 0]}
    for user_id, (treated, at) in r.entered.items():
        counts[treated][0] += any(t > at for t in orders.get(user_id, ()))
        counts[treated][1] += 1
    return lift(*counts[True], *counts[False])


def true_effect(r: Run) -> cf.TrueEffect:
    treatment = {u: [at] for u, (treated, at) in r.entered.items() if treated}
    return cf.journey_effect(
        r.config, r.arrivals, r.truth, journey=JOURNEY, treatment=treatment, index=r.index
    )


def test_replaying_the_deliveries_reproduces_the_run() -> None:
    r = run(seed=1)
    reached = {d.user_id for d in r.arrivals if d.user_id is not None}
    again = cf.replay(r.config, r.arrivals, customers=reached)
    assert sorted((p.user_id, p.at) for p in again.purchases) == sorted(
        (p.user_id, p.at) for p in r.truth.purchases if p.user_id in reached
    )
    without = cf.replay(r.config, r.arrivals, customers=reached, drop=lambda d: True)
    assert without.reactions["delivered"] == 0 < again.reactions["delivered"]


@pytest.mark.slow
@pytest.mark.timeout(900)  # about 40 s of CPU; a loaded machine stretches it past 300 s
def test_the_95_percent_intervals_cover_the_true_effect() -> None:
    seeds = range(120)
    covered, effects = 0, []
    for seed in seeds:
        r = run(seed)
        interval, truth = measured(r), true_effect(r)
        assert interval.low is not None and interval.high is not None
        covered += interval.low <= truth.effect <= interval.high
        effects.append(truth.effect)
    # The reminders do something (else covering zero would prove little) ...
    assert sum(effects) / len(effects) > 0.02
    # ... and 95% intervals cover it 95% of the time: 120 seeds give 114 +- 2.4 (binomial).
    assert 0.9 <= covered / len(seeds) <= 0.995, covered
