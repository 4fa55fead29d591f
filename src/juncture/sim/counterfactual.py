"""What customers would have done without some of the messages they got: the simulation run
again for them alone, with the deliveries they really got less the ones left out.

Every shopper draws from generators of their own (see :mod:`juncture.sim.session`), so a
customer's run depends only on the messages that reached them, and when. Replaying a
customer's deliveries at the instants they arrived reproduces their run exactly; leaving out
a journey's messages gives what they would have done without that journey, the other
messages held as they were. The difference between the two is the journey's true effect on
that customer, which no event reveals and every measurement estimates.

>>> import datetime as dt
>>> from juncture.sim import SimConfig
>>> config = SimConfig(start=dt.datetime(2026, 3, 2, tzinfo=dt.UTC), seed=3, customers=30,
...                    days=3)
>>> mine = {c.user_id for c in Simulation(config).customers[:10]}
>>> full = replay(config, [], customers=None)
>>> alone = replay(config, [], customers=mine)
>>> [p.at for p in full.purchases if p.user_id in mine] == [p.at for p in alone.purchases]
True
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from juncture.sim.personas import Customer
from juncture.sim.response import Delivery
from juncture.sim.simulation import SimConfig, Simulation
from juncture.sim.truth import GroundTruth


def replay(
    config: SimConfig,
    arrivals: Iterable[Delivery],
    *,
    customers: Collection[str] | None,
    drop: Callable[[Delivery], bool] = lambda _: False,
) -> GroundTruth:
    """Run ``config`` again for ``customers`` (user ids; ``None``: everyone), delivering
    each of ``arrivals`` that ``drop`` does not refuse at its ``at``. ``arrivals`` are the
    deliveries as they reached the simulation, in that order, each stamped with the instant
    it arrived (:meth:`Simulation.deliver` never delivers before the simulation's clock)."""
    sim = Simulation(config, only=customers)
    for delivery in arrivals:
        if not drop(delivery):
            sim.advance(delivery.at)
            sim.deliver(delivery)
    sim.advance(sim.end)
    return sim.ground_truth


def identities(customers: Iterable[Customer]) -> dict[str, str]:
    """Each identifier value a customer's messages carry (user id, email, the anonymous id
    of each own device; kiosks are shared) -> their user id."""
    out: dict[str, str] = {}
    for customer in customers:
        out[customer.user_id] = customer.user_id
        if customer.email is not None:
            out[customer.email] = customer.user_id
        for device in customer.devices:
            if device.kind != "kiosk":
                out[device.anonymous_id] = customer.user_id
    return out


@dataclass(frozen=True, slots=True)
class TrueEffect:
    """A journey's true effect on conversion over its treatment arm: the mean, over the
    arm's entries, of converted with the journey's messages less converted without them
    (an order after entering, until the end of the run). ``changed``: entries whose
    outcome the messages changed (either way); ``unknown``: entries of no known customer,
    counted as unchanged."""

    entries: int
    changed: int
    effect: float
    unknown: int


def journey_effect(
    config: SimConfig,
    arrivals: Sequence[Delivery],
    real: GroundTruth,
    *,
    journey: str,
    treatment: Mapping[str, Sequence[dt.datetime]],
    index: Mapping[str, str],
    unknown: int = 0,
) -> TrueEffect:
    """The true effect of ``journey`` (see :class:`TrueEffect`) in the run of ``config``
    whose deliveries (see :func:`replay`) and truth were ``arrivals`` and ``real``.
    ``treatment`` maps each customer (user id) to the instants its treatment entries
    entered, ``unknown`` counts the entries of no known customer; ``index`` is the
    customers' :func:`identities`. Only the customers the journey's messages reached are run again;
    the others did exactly what they did."""
    reached = {
        customer
        for d in arrivals
        if d.journey == journey
        and (customer := customer_of(d, index)) is not None
        and customer in treatment
    }
    without = replay(
        config, arrivals, customers=reached, drop=lambda d: d.journey == journey
    ).order_times()
    with_ = real.order_times()
    entries, changed, total = unknown, 0, 0
    for user_id, instants in treatment.items():
        for at in instants:
            entries += 1
            if user_id not in reached:
                continue
            gain = _after(with_.get(user_id, ()), at) - _after(without.get(user_id, ()), at)
            changed += gain != 0
            total += gain
    return TrueEffect(entries, changed, total / entries if entries else 0.0, unknown)


def customer_of(delivery: Delivery, index: Mapping[str, str]) -> str | None:
    """The user id of the customer a delivery reaches, as :meth:`Simulation.deliver` finds
    them (user id, then email, then anonymous id)."""
    for key in (delivery.user_id, delivery.email, delivery.anonymous_id):
        if key is not None and key in index:
            return index[key]
    return None


def _after(orders: Iterable[dt.datetime], at: dt.datetime) -> int:
    return int(any(t > at for t in orders))
