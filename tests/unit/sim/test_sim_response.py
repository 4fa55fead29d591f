from __future__ import annotations

import datetime as dt

from juncture.sim import Delivery, SimConfig, Simulation

START = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
DAYS = 14
CUTOFF = START + dt.timedelta(days=DAYS - 4)


def _recovery_run(template: str | None) -> tuple[float, int, int]:
    """Purchase rate after a first abandonment, for abandoners reachable by email."""
    sim = Simulation(SimConfig(seed=3, customers=900, days=DAYS, start=START))
    reachable = {c.user_id for c in sim.customers if c.consents("email")}
    seen = 0
    for _ in sim.iter_batches(dt.timedelta(hours=1)):
        new = sim.ground_truth.abandonments[seen:]
        seen = len(sim.ground_truth.abandonments)
        for left in new:
            if template and left.user_id in reachable and left.at < CUTOFF:
                sim.deliver(
                    Delivery(
                        at=left.at + dt.timedelta(hours=2),
                        channel="email",
                        template=template,
                        user_id=left.user_id,
                        product_ids=left.product_ids,
                        journey="cart-recovery",
                    )
                )
    first: dict[str, dt.datetime] = {}
    for left in sim.ground_truth.abandonments:
        if left.user_id in reachable and left.at < CUTOFF:
            first.setdefault(left.user_id, left.at)
    bought = {p.user_id for p in sim.ground_truth.purchases if p.at > first.get(p.user_id, CUTOFF)}
    attributed = sum(p.journey == "cart-recovery" for p in sim.ground_truth.purchases)
    return len(bought & first.keys()) / len(first), len(first), attributed


def test_cart_recovery_message_raises_purchase_rate() -> None:
    holdout, abandoners, none_attributed = _recovery_run(None)
    treated, same_abandoners, attributed = _recovery_run("cart_reminder_discount")
    assert abandoners >= 100
    # Customers draw from their own generators, so both runs agree until a message lands:
    # the abandoners are the same people, and the difference is the message's effect.
    assert same_abandoners == abandoners
    assert none_attributed == 0
    assert attributed > 0
    assert treated >= holdout + 0.05


def test_naming_the_abandoned_product_beats_a_generic_message() -> None:
    generic, _, _ = _recovery_run("newsletter")
    relevant, _, _ = _recovery_run("cart_reminder_discount")
    assert relevant > generic


def _opens(messages_each: int) -> tuple[float, int]:
    sim = Simulation(SimConfig(seed=8, customers=300, days=3, start=START))
    targets = [c for c in sim.customers if c.consents("email")][:150]
    morning = START + dt.timedelta(days=1, hours=9)
    sim.advance(morning)
    for customer in targets:
        for k in range(messages_each):
            sim.deliver(
                Delivery(
                    at=morning + dt.timedelta(hours=2 * k),
                    channel="email",
                    template="weekly_offer",
                    user_id=customer.user_id,
                    journey="promo",
                )
            )
    sim.advance(sim.end)
    reactions = sim.ground_truth.reactions
    return reactions["opened"] / reactions["delivered"], reactions["unsubscribed"]


def test_over_messaged_customers_react_less() -> None:
    calm_rate, calm_unsubscribed = _opens(1)
    busy_rate, busy_unsubscribed = _opens(5)
    assert busy_rate < 0.75 * calm_rate
    assert calm_unsubscribed == 0
    assert busy_unsubscribed > 0


def test_unknown_recipient_is_counted_not_fatal() -> None:
    sim = Simulation(SimConfig(seed=1, customers=10, days=1, start=START))
    sim.deliver(Delivery(at=START, channel="sms", template="x", user_id="nobody"))
    assert sim.ground_truth.reactions["unmatched"] == 1


def test_unsubscribe_is_visible_in_the_stream() -> None:
    sim = Simulation(SimConfig(seed=8, customers=100, days=2, start=START))
    customer = next(c for c in sim.customers if c.consents("email"))
    for k in range(12):
        at = START + dt.timedelta(hours=9 + k)
        sim.deliver(Delivery(at=at, channel="email", template="spam", user_id=customer.user_id))
    stream = sim.advance(sim.end)
    mine = [m for m in stream if m.get("userId") == customer.user_id]
    unsubscribed = [m for m in mine if m.get("event") == "Unsubscribed"]
    assert len(unsubscribed) == 1
    identify = [
        m for m in mine if m["type"] == "identify" and m["timestamp"] > unsubscribed[0]["timestamp"]
    ]
    assert identify
    assert identify[0]["traits"]["consent"]["email"]["marketing"] is False
