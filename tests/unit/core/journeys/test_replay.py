"""Replaying the same events must give the same commands, with unique idempotency keys."""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from juncture.core.journeys import commands as c
from juncture.definitions import journeys as journey_definitions
from tests.unit.core.journeys.factory import T0, Engine, event, profile

NAMES = [
    "Product Added",
    "Order Completed",
    "Product Viewed",
    "Signed Up",
    "Unsubscribed",
    "NPS Submitted",
]

steps = st.lists(
    st.tuples(
        st.sampled_from(NAMES),
        st.sampled_from(["c1", "c2", "c3"]),
        st.integers(min_value=0, max_value=6 * 3600),
    ),
    max_size=25,
)


def replay(script: list[tuple[str, str, int]]) -> list[c.Command]:
    engine = Engine(
        journey_definitions.load_library(), profile(timezone="Europe/Paris", email="a@b")
    )
    at = T0
    for index, (name, cart, gap) in enumerate(script):
        at += dt.timedelta(seconds=gap)
        props = {"cart_id": cart, "order_id": f"o{index}", "survey_id": "s", "score": gap % 11}
        engine.send(event(name, at, msg=f"m{index}", **props))
    engine.run_until(at + dt.timedelta(days=120))
    return engine.log


@settings(max_examples=40, deadline=None)
@given(steps)
def test_replay_is_identical_and_sends_are_unique(script: list[tuple[str, str, int]]) -> None:
    first, second = replay(script), replay(script)
    assert first == second
    keys = [x.idempotency_key for x in first if isinstance(x, c.Send)]
    assert len(keys) == len(set(keys))
