from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from juncture.core import signals
from juncture.core.events import Event
from juncture.core.profile import reducer
from juncture.core.profile.model import Profile
from juncture.core.signals import CancelTimer, ScheduleTimer, SignalConfig

T0 = dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)
MIN = dt.timedelta(minutes=1)
WEB = {"page": {"url": "https://shop"}}
APP = {"app": {"name": "shop"}, "device": {"id": "phone-1"}}


def ev(
    name: str,
    at: dt.datetime = T0,
    *,
    mid: str = "m",
    props: dict[str, Any] | None = None,
    context: dict[str, Any] | None = None,
) -> Event:
    return Event(
        source="web",
        message_id=mid,
        type="track",
        event=name,
        timestamp=at,
        received_at=at,
        anonymous_id="a1",
        properties=props or {},
        context=context if context is not None else WEB,
    )


def step(
    p: Profile, e: Event, config: SignalConfig = signals.DEFAULT_CONFIG
) -> tuple[Profile, signals.Detection]:
    after = reducer.reduce(p, e)
    return after, signals.detect(p, after, e, config)


def play(events: list[Event]) -> tuple[Profile, list[signals.Detection]]:
    p = Profile(profile_id="p_1")
    out = []
    for e in events:
        p, d = step(p, e)
        out.append(d)
    return p, out


def names(d: signals.Detection) -> list[str | None]:
    return [e.event for e in d.events]


SHOE = {"product_id": "s1", "category": "Shoes", "brand": "Acme", "price": 80}
HAT = {"product_id": "h1", "category": "Hats", "brand": "Topp", "price": 20}


def test_signal_events_are_derived_deterministically() -> None:
    _, (d,) = play([ev("Product Added", mid="m-7", props=SHOE)])
    (sig,) = d.events
    assert sig.source == "juncture"
    assert sig.type == "track"
    assert sig.timestamp == T0
    assert sig.message_id == signals.signal_id("m-7", "Cart Intent")
    assert sig.properties["profile_id"] == "p_1"
    assert sig.properties["cause_message_id"] == "m-7"


def test_click_interest_names_what_gained_and_where_preference_moves() -> None:
    _, ds = play(
        [
            ev("Product Clicked", T0, mid="1", props=SHOE),
            ev("Product Clicked", T0 + MIN, mid="2", props=HAT),
            ev("Product Clicked", T0 + 2 * MIN, mid="3", props=HAT),
        ]
    )
    first = ds[0].events[0].properties
    assert first["gained"] == ["brand:Acme", "category:Shoes", "price:25-100"]
    assert first["shifted"]["category"] == {"from": None, "to": "Shoes"}
    third = ds[2].events[0].properties
    assert third["top"] == {"category": "Hats", "brand": "Topp", "price": "0-25"}
    assert third["shifted"] == {}
    # Equal weights, but the later click counts more: decay runs from the event time.
    second = ds[1].events[0].properties
    assert second["shifted"]["category"] == {"from": "Shoes", "to": "Hats"}


def test_product_interest_on_repeat_views_revisit_specs_and_long_view() -> None:
    hour = 60 * MIN
    _, ds = play(
        [
            ev("Product Viewed", T0, mid="1", props=SHOE),
            ev("Product Viewed", T0 + MIN, mid="2", props=SHOE),
            ev("Product Viewed", T0 + 2 * MIN, mid="3", props=SHOE),
            ev("Product Viewed", T0 + 3 * MIN, mid="4", props=SHOE),
            ev("Product Viewed", T0 + 2 * hour, mid="5", props={**SHOE, "duration": 70}),
            ev("Product Specs Viewed", T0 + 2 * hour, mid="6", props=SHOE),
        ]
    )
    assert [names(d) for d in ds[:2]] == [[], []]
    assert ds[2].events[0].properties["reasons"] == ["repeat_views"]
    assert names(ds[3]) == []
    assert ds[4].events[0].properties["reasons"] == ["revisit", "long_view"]
    assert ds[4].events[0].properties["visits"] == 2
    assert ds[5].events[0].properties["reasons"] == ["specs"]


def test_cart_intent_carries_the_cart_and_strength() -> None:
    _, ds = play(
        [
            ev("Product Added", T0, mid="1", props=HAT),
            ev("Product Added", T0 + MIN, mid="2", props={**SHOE, "currency": "EUR"}),
        ]
    )
    weak, strong = ds[0].events[0].properties, ds[1].events[0].properties
    assert (weak["cart_value"], weak["strong"]) == (20.0, False)
    assert (strong["cart_value"], strong["item_count"], strong["strong"]) == (100.0, 2, True)
    assert strong["currency"] == "EUR"
    assert [i["product_id"] for i in strong["cart"]] == ["h1", "s1"]


CART_KEY, CHECKOUT_KEY = "cart_abandonment:p_1", "checkout_abandonment:p_1"


def test_cart_activity_schedules_and_moves_the_timer_and_order_cancels() -> None:
    quiet = signals.DEFAULT_CONFIG.cart_quiet
    _, ds = play(
        [
            ev("Product Added", T0, mid="1", props=SHOE),
            ev("Cart Viewed", T0 + MIN, mid="2"),
            ev("Product Viewed", T0 + 2 * MIN, mid="3", props=HAT),
            ev("Order Completed", T0 + 4 * MIN, mid="5", props={"order_id": "o"}),
        ]
    )
    assert ds[0].timers == (
        ScheduleTimer(key=CART_KEY, due_at=T0 + quiet, kind="cart_abandonment", profile_id="p_1"),
    )
    assert ds[1].timers[0] == ScheduleTimer(
        key=CART_KEY, due_at=T0 + MIN + quiet, kind="cart_abandonment", profile_id="p_1"
    )
    assert ds[2].timers == ()
    assert ds[3].timers == (CancelTimer(key=CART_KEY), CancelTimer(key=CHECKOUT_KEY))


def test_checkout_cancels_the_cart_timer_and_starts_its_own() -> None:
    checkout_quiet = signals.DEFAULT_CONFIG.checkout_quiet
    _, ds = play(
        [
            ev("Product Added", T0, mid="1", props=SHOE),
            ev("Checkout Started", T0 + 3 * MIN, mid="2"),
            ev("Product Added", T0 + 5 * MIN, mid="3", props=HAT),  # back from checkout
            ev("Order Completed", T0 + 9 * MIN, mid="4", props={"order_id": "o"}),
        ]
    )
    checkout = ScheduleTimer(
        key=CHECKOUT_KEY,
        due_at=T0 + 3 * MIN + checkout_quiet,
        kind="checkout_abandonment",
        profile_id="p_1",
    )
    assert ds[1].timers == (CancelTimer(key=CART_KEY), checkout)
    # still in checkout until an order: the checkout's timer moves, no cart timer starts
    moved = msgspec.structs.replace(checkout, due_at=T0 + 5 * MIN + checkout_quiet)
    assert ds[2].timers == (CancelTimer(key=CART_KEY), moved)
    assert ds[3].timers == (CancelTimer(key=CART_KEY), CancelTimer(key=CHECKOUT_KEY))


def test_a_late_checkout_started_switches_the_timer_without_new_activity() -> None:
    _, ds = play(
        [
            ev("Product Added", T0 + 5 * MIN, mid="1", props=SHOE),
            ev("Checkout Started", T0 + MIN, mid="2"),  # happened first, arrived second
        ]
    )
    cancel, schedule = ds[1].timers
    assert cancel == CancelTimer(key=CART_KEY)
    assert isinstance(schedule, ScheduleTimer)
    assert (schedule.key, schedule.kind) == (CHECKOUT_KEY, "checkout_abandonment")
    assert schedule.due_at == T0 + 5 * MIN + signals.DEFAULT_CONFIG.checkout_quiet


def test_an_order_cancels_the_timers_even_when_it_leaves_the_cart_as_it_was() -> None:
    p, ds = play(
        [
            ev("Product Added", T0, mid="1", props=SHOE),
            ev("Order Completed", T0 + MIN, mid="2", props={"order_id": "o"}),
            ev("Product Added", T0 + 2 * MIN, mid="3", props=HAT),
        ]
    )
    repeat = ev("Order Completed", T0 + 3 * MIN, mid="4", props={"order_id": "o"})
    after, d = step(p, repeat)  # a repeated report: the cart is the very same object
    assert after.cart is p.cart
    assert d.timers == (CancelTimer(key=CART_KEY), CancelTimer(key=CHECKOUT_KEY))
    assert ds[2].timers  # the cart after the order has its timer
    assert step(p, ev("Product Viewed", T0 + 4 * MIN, props=SHOE))[1].timers == ()


def test_emptied_cart_cancels_the_timer() -> None:
    _, ds = play(
        [
            ev("Product Added", T0, props=SHOE),
            ev("Product Removed", T0 + MIN, props={"product_id": "s1"}),
        ]
    )
    assert ds[1].timers == (CancelTimer(key=CART_KEY), CancelTimer(key=CHECKOUT_KEY))


def test_fire_timer_only_when_current_due_and_cart_not_empty() -> None:
    p, ds = play([ev("Product Added", T0, props=SHOE), ev("Cart Viewed", T0 + MIN)])
    timer = ds[1].timers[0]
    stale = ds[0].timers[0]
    assert isinstance(timer, ScheduleTimer)
    assert isinstance(stale, ScheduleTimer)
    assert signals.fire_timer(p, stale, T0 + dt.timedelta(hours=2)) == []
    assert signals.fire_timer(p, timer, timer.due_at - MIN) == []
    (fired,) = signals.fire_timer(p, timer, timer.due_at + MIN)
    assert fired.event == "Cart Abandoned"
    assert fired.timestamp == timer.due_at
    assert fired.properties["cart_value"] == 80.0
    assert fired.properties["last_activity_at"] == (T0 + MIN).isoformat()
    assert "checkout_started_at" not in fired.properties
    assert fired.message_id == signals.fire_timer(p, timer, timer.due_at)[0].message_id
    ordered = reducer.reduce(p, ev("Order Completed", T0 + 2 * MIN, props={"order_id": "o"}))
    assert signals.fire_timer(ordered, timer, timer.due_at) == []


def test_a_started_checkout_fires_checkout_abandoned_and_never_cart_abandoned() -> None:
    p, ds = play([ev("Product Added", T0, props=SHOE), ev("Checkout Started", T0 + MIN)])
    cart_timer, (_, checkout_timer) = ds[0].timers[0], ds[1].timers
    assert isinstance(cart_timer, ScheduleTimer)
    assert isinstance(checkout_timer, ScheduleTimer)
    late = T0 + dt.timedelta(days=1)
    # a cart timer due right now would still not fire: the cart is in checkout
    current_cart = msgspec.structs.replace(
        cart_timer, due_at=T0 + MIN + signals.DEFAULT_CONFIG.cart_quiet
    )
    assert signals.fire_timer(p, current_cart, late) == []
    (fired,) = signals.fire_timer(p, checkout_timer, late)
    assert fired.event == "Checkout Abandoned"
    assert fired.timestamp == T0 + MIN + signals.DEFAULT_CONFIG.checkout_quiet
    assert fired.properties["checkout_started_at"] == (T0 + MIN).isoformat()
    assert fired.properties["item_count"] == 1


def test_quiet_periods_come_from_the_config() -> None:
    config = SignalConfig(cart_quiet=dt.timedelta(minutes=10), checkout_quiet=dt.timedelta(hours=4))
    p = Profile(profile_id="p_1")
    p, added = step(p, ev("Product Added", T0, props=SHOE), config)
    _, checkout = step(p, ev("Checkout Started", T0 + MIN), config)
    assert [t.due_at for t in added.timers if isinstance(t, ScheduleTimer)] == [
        T0 + dt.timedelta(minutes=10)
    ]
    assert [t.due_at for t in checkout.timers if isinstance(t, ScheduleTimer)] == [
        T0 + MIN + dt.timedelta(hours=4)
    ]


def test_channel_switched_carries_context() -> None:
    _, ds = play(
        [
            ev("Product Viewed", T0, mid="1", props=SHOE),
            ev("Product Added", T0 + MIN, mid="2", props=SHOE),
            ev("Screen", T0 + 10 * MIN, mid="3", context=APP),
            ev("Screen", T0 + 11 * MIN, mid="4", context=APP),
            ev("Page", T0 + dt.timedelta(days=3), mid="5"),
        ]
    )
    (switch,) = [e for e in ds[2].events if e.event == "Channel Switched"]
    props = switch.properties
    assert (props["from_channel"], props["to_channel"]) == ("web", "app")
    assert (props["from_device"], props["to_device"]) == (None, "phone-1")
    assert props["cart_value"] == 80.0
    assert props["last_viewed_product"]["product_id"] == "s1"
    assert props["seconds_since_last"] == 540.0
    assert names(ds[3]) == []
    assert names(ds[4]) == []


def test_post_purchase_engagement_after_an_order() -> None:
    day = dt.timedelta(days=1)
    _, ds = play(
        [
            ev("Ticket Created", T0, mid="0"),
            ev("Order Completed", T0 + MIN, mid="1", props={"order_id": "o9"}),
            ev("Product Reviewed", T0 + 2 * day, mid="2", props={"rating": 5}),
            ev("Ticket Created", T0 + 3 * day, mid="3"),
            ev("NPS Submitted", T0 + 4 * day, mid="4", props={"score": 9}),
            ev("Product Used", T0 + 5 * day, mid="5"),
            ev("Product Used", T0 + 200 * day, mid="6"),
        ]
    )
    assert names(ds[0]) == []
    found = [d.events[0].properties for d in ds[2:6]]
    assert [f["kind"] for f in found] == ["review", "support", "feedback", "usage"]
    assert found[0]["rating"] == 5
    assert found[2]["score"] == 9
    assert found[0]["order_id"] == "o9"
    assert 1.99 < found[0]["days_since_order"] < 2
    assert names(ds[6]) == []


def test_derived_events_cause_nothing() -> None:
    p = Profile(profile_id="p_1")
    derived = ev("Product Added", props=SHOE).__class__(
        source="juncture",
        message_id="x",
        type="track",
        event="Product Added",
        timestamp=T0,
        received_at=T0,
    )
    assert signals.detect(p, p, derived) == signals.Detection()
