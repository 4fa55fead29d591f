"""The replenish_at trait, computed by the profile reducer from each consumable's purchases."""

from __future__ import annotations

import datetime as dt
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from juncture.core.events import Event
from juncture.core.profile import reducer
from juncture.core.profile.merge import merge_profiles
from juncture.core.profile.model import DEFAULT_CONFIG, Profile, ProfileConfig
from juncture.core.profile.replenish import REPLENISH_TRAIT

T0 = dt.datetime(2026, 3, 2, 10, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
BEANS = {"product_id": "beans", "category": "Grocery > Coffee > Beans", "price": 12.0}
SHOE = {"product_id": "shoe", "category": "Shoes > Running", "price": 90.0}


def order(at: dt.datetime, order_id: str, *lines: dict[str, Any]) -> Event:
    props = {"order_id": order_id, "total": 10.0, "products": list(lines)}
    return Event(source="web", message_id=order_id, type="track", event="Order Completed",
                 timestamp=at, received_at=at, user_id="u1", properties=props)  # fmt: skip


def identify(at: dt.datetime, **traits: Any) -> Event:
    return Event(source="web", message_id=f"id-{at}", type="identify", timestamp=at,
                 received_at=at, user_id="u1", traits=traits)  # fmt: skip


def run(events: list[Event], config: ProfileConfig = DEFAULT_CONFIG) -> Profile:
    p = Profile(profile_id="p1")
    for e in events:
        p = reducer.reduce(p, e, config)
    return p


def test_the_shoppers_own_interval_between_repeat_purchases_sets_the_day() -> None:
    p = run([order(T0, "o1", BEANS, SHOE), order(T0 + 20 * DAY, "o2", BEANS)])
    assert p.traits[REPLENISH_TRAIT] == (T0 + 40 * DAY).date().isoformat()
    assert p.trait_at[REPLENISH_TRAIT] == T0 + 20 * DAY
    # three purchases: the mean cycle (20 then 30 days: 25)
    p = run([order(T0, "o1", BEANS), order(T0 + 20 * DAY, "o2", BEANS),
             order(T0 + 50 * DAY, "o3", BEANS)])  # fmt: skip
    assert p.traits[REPLENISH_TRAIT] == (T0 + 75 * DAY).date().isoformat()


def test_one_purchase_of_a_product_nobody_declared_sets_nothing() -> None:
    assert REPLENISH_TRAIT not in run([order(T0, "o1", BEANS, SHOE)]).traits


def test_a_declared_category_interval_covers_the_first_purchase() -> None:
    config = ProfileConfig(replenish_every={"Grocery > Coffee": 30 * DAY, "Grocery": 90 * DAY})
    p = run([order(T0, "o1", BEANS, SHOE)], config)
    assert p.traits[REPLENISH_TRAIT] == (T0 + 30 * DAY).date().isoformat()  # longest prefix


def test_a_second_order_the_same_day_is_no_cycle() -> None:
    p = run([order(T0, "o1", BEANS), order(T0 + dt.timedelta(hours=3), "o2", BEANS)])
    assert REPLENISH_TRAIT not in p.traits
    p = run([order(T0, "o1", BEANS), order(T0 + dt.timedelta(hours=3), "o2", BEANS),
             order(T0 + 10 * DAY, "o3", BEANS)])  # fmt: skip
    assert p.traits[REPLENISH_TRAIT] == (T0 + 20 * DAY).date().isoformat()


def test_the_earliest_consumable_still_ahead_wins() -> None:
    tea = {"product_id": "tea", "category": "Grocery > Tea", "price": 5.0}
    p = run([order(T0, "o1", BEANS, tea), order(T0 + 7 * DAY, "o2", tea),
             order(T0 + 30 * DAY, "o3", BEANS)])  # fmt: skip
    # tea: due day 14, already past at the latest order (day 30); beans: day 60
    assert p.traits[REPLENISH_TRAIT] == (T0 + 60 * DAY).date().isoformat()


def test_a_later_identify_wins_and_an_earlier_one_does_not() -> None:
    orders = [order(T0, "o1", BEANS), order(T0 + 20 * DAY, "o2", BEANS)]
    later = run([*orders, identify(T0 + 21 * DAY, replenish_at="2026-12-24")])
    assert later.traits[REPLENISH_TRAIT] == "2026-12-24"
    earlier = run([identify(T0 + 5 * DAY, replenish_at="2026-12-24"), *orders])
    assert earlier.traits[REPLENISH_TRAIT] == (T0 + 40 * DAY).date().isoformat()


def test_a_duplicate_report_of_an_order_changes_nothing() -> None:
    once = run([order(T0, "o1", BEANS), order(T0 + 20 * DAY, "o2", BEANS)])
    twice = run([order(T0, "o1", BEANS), order(T0 + 20 * DAY, "o2", BEANS),
                 order(T0 + 21 * DAY, "o2", BEANS)])  # fmt: skip
    assert twice.traits == once.traits and twice.orders == once.orders


PRODUCTS = [BEANS, SHOE, {"product_id": "tea", "category": "Grocery > Tea", "price": 4.0}]


@st.composite
def histories(draw: st.DrawFn) -> list[Event]:
    days = draw(st.lists(st.integers(0, 120), min_size=1, max_size=7, unique=True))
    hours = [draw(st.integers(0, 20)) for _ in days]
    lines = [draw(st.lists(st.sampled_from(PRODUCTS), min_size=1, max_size=3)) for _ in days]
    return [
        order(T0 + day * DAY + hour * dt.timedelta(hours=1), f"o{i}", *products)
        for i, (day, hour, products) in enumerate(zip(days, hours, lines, strict=True))
    ]


@settings(max_examples=100, deadline=None)
@given(history=histories(), data=st.data())
def test_arrival_order_and_merges_give_the_same_day(
    history: list[Event], data: st.DataObject
) -> None:
    whole = run(history)
    shuffled = run(data.draw(st.permutations(history)))
    side = data.draw(st.lists(st.booleans(), min_size=len(history), max_size=len(history)))
    a = run([e for e, s in zip(history, side, strict=True) if s])
    b = run([e for e, s in zip(history, side, strict=True) if not s])
    merged = merge_profiles(a, b)
    for other in (shuffled, merged):
        assert other.traits.get(REPLENISH_TRAIT) == whole.traits.get(REPLENISH_TRAIT)
        assert other.trait_at.get(REPLENISH_TRAIT) == whole.trait_at.get(REPLENISH_TRAIT)
