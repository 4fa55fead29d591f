"""Simulated shoppers answer recommendations by their tastes, and on-site answers only
while they are on the site."""

from __future__ import annotations

import datetime as dt

from juncture.sim import SimConfig, Simulation, onsite, wire
from juncture.sim.response import Delivery

START = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)


def shown(sim: Simulation, kind: str, pick: str) -> dict[str, float]:
    """Every shopper sees one list of four: from their favourite category, or the first
    four products of the catalogue (the same for everyone)."""
    ms = wire.to_ms(START)
    for n, shopper in enumerate(sim._shoppers):
        customer = shopper.customer
        if pick == "taste":
            favourite = max(customer.interests, key=lambda kv: kv[1])[0]
            products = tuple(p.product_id for p in sim.catalog.in_leaf(favourite)[:4])
        else:
            products = tuple(p.product_id for p in sim.catalog.products[:4])
        delivery = Delivery(
            at=START, channel="onsite", template=f"onsite_{kind}", user_id=customer.user_id,
            recommendation_id=f"rec_{kind}_{n:04x}", recommended=products,
        )  # fmt: skip
        onsite.recommended(sim._world, shopper, delivery, ms, page=True)
    return sim.ground_truth.recommended[kind]


def test_a_list_that_fits_their_tastes_is_clicked_more() -> None:
    fitting = shown(Simulation(SimConfig(start=START, customers=600, days=1)), "a", "taste")
    generic = shown(Simulation(SimConfig(start=START, customers=600, days=1)), "b", "same")
    assert fitting["lists"] == generic["lists"] == 600
    assert fitting["expected_clicks"] > 2 * generic["expected_clicks"]
    assert fitting["clicks"] > 1.5 * generic["clicks"] > 0
    assert (
        abs(fitting["clicks"] - fitting["expected_clicks"]) < 4 * fitting["expected_clicks"] ** 0.5
    )


def test_answers_reach_only_shoppers_on_the_site() -> None:
    sim = Simulation(SimConfig(start=START, customers=5, days=1))
    shopper = sim._shoppers[0]
    delivery = Delivery(at=START, channel="onsite", template="onsite_wishlist",
                        user_id=shopper.customer.user_id)  # fmt: skip
    ms = wire.to_ms(START)
    shopper.last_seen = ms - 2 * onsite.ON_SITE
    onsite.receive(sim._world, shopper, delivery, ms)
    shopper.last_seen = ms - 60_000
    onsite.receive(sim._world, shopper, delivery, ms)
    assert sim.ground_truth.onsite["wishlist"]["missed"] == 1
    assert sim.ground_truth.onsite["wishlist"]["shown"] == 1
