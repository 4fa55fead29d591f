"""Goals and waits that an order settles, whatever links the order to the cart or checkout:
the pure profile reducer and journey orchestration, event by event and timer by timer, with
events shaped as Segment's e-commerce spec has them (no cart_id on Order Completed)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from juncture.core import signals
from juncture.core.events import Event
from juncture.core.journeys import machine, orchestrate, profile_view
from juncture.core.journeys.arbitration import Policy
from juncture.core.journeys.catalog import Catalog
from juncture.core.journeys.spec import JourneySpec
from juncture.core.profile import reducer
from juncture.core.profile.model import Cart, CartItem, Order, Profile
from juncture.core.profile.orders import Settlement
from juncture.definitions import journeys as journey_definitions

T0 = dt.datetime(2026, 5, 4, 10, 0, tzinfo=dt.UTC)
MIN, HOUR, DAY = dt.timedelta(minutes=1), dt.timedelta(hours=1), dt.timedelta(days=1)
CART_JOURNEY = next(j for j in journey_definitions.load_library() if j.id == "cart_abandonment")
SHOE = {"product_id": "P1", "sku": "S-1", "name": "Trail shoe", "price": 90.0, "quantity": 1}
SOCKS = {"product_id": "P2", "sku": "S-2", "name": "Socks", "price": 9.0, "quantity": 1}
CHECKOUT = """
id: checkout
version: 1
name: Checkout reminder
entry: {reentry: always, key: event.properties.order_id}
goal: {event: Order Completed, settles: true, within: 3d}
nodes:
  - {id: started, type: trigger, event: Checkout Started, next: wait}
  - id: wait
    type: wait
    until_event: Order Completed
    settles: true
    timeout: 2h
    on_event: done
    on_timeout: remind
  - {id: remind, type: send, channel: email, template: cart_recovery, next: done}
  - {id: done, type: exit}
"""


class Shop:
    """One customer: the reducer, then journeys, for each event; journey timers fire in
    order as time passes (the engine's loop, without the store)."""

    def __init__(self, *journeys: JourneySpec, pid: str = "p_shopper") -> None:
        self.catalog = Catalog.of(list(journeys))
        self.config = orchestrate.JourneyConfig(Policy(opt_in_channels=frozenset()))
        self.profile = Profile(profile_id=pid, traits={"email": "a@example.com"})
        self.state = orchestrate.JourneyState()
        self.timers: dict[str, signals.ScheduleTimer] = {}
        self.messages: list[orchestrate.Message] = []
        self.seq = 0

    def track(self, at: dt.datetime, event_name: str, **props: Any) -> None:
        self.until(at)
        self.seq += 1
        event = Event(source="web", message_id=f"m{self.seq}", type="track", event=event_name,
                      timestamp=at, received_at=at, user_id="u1", properties=props,
                      profile_id=self.profile.profile_id)  # fmt: skip
        self.profile = reducer.reduce(self.profile, event)
        self.apply(orchestrate.react(self.catalog, self.state, self.profile, [event], self.config))

    def until(self, at: dt.datetime) -> None:
        while due := sorted((t.due_at, k) for k, t in self.timers.items() if t.due_at <= at):
            timer = self.timers.pop(due[0][1])
            self.apply(
                orchestrate.on_timer(self.catalog, self.state, self.profile, timer, self.config)
            )

    def apply(self, out: orchestrate.Outcome) -> None:
        self.state, self.profile = out.state, out.profile
        self.messages += out.messages
        for command in out.timers:
            if isinstance(command, signals.ScheduleTimer):
                self.timers[command.key] = command
            else:
                self.timers.pop(command.key, None)

    def sent(self) -> list[tuple[str | None, str, str | None]]:
        return [(m.node_id, m.status, m.reason) for m in self.messages]

    def exits(self) -> list[str | None]:
        return [e.exit_reason for e in self.state.enrollments]


def shopper_outside_the_holdout(journey: JourneySpec) -> str:
    return next(
        pid
        for pid in (f"p_{n}" for n in range(100))
        if machine.bucket(journey.id, pid, "holdout") * 100 >= journey.holdout_percent
    )


def cart_shop() -> Shop:
    return Shop(CART_JOURNEY, pid=shopper_outside_the_holdout(CART_JOURNEY))


def test_a_spec_order_without_cart_id_settles_the_cart_it_empties() -> None:
    shop = cart_shop()
    shop.track(T0, "Product Added", cart_id="c1", **SHOE)
    shop.track(T0 + 20 * MIN, "Order Completed", order_id="o1", total=90.0, products=[SHOE])
    shop.until(T0 + 3 * DAY)
    assert shop.sent() == []
    assert shop.exits() == ["goal"]
    assert [e.goal_reached for e in shop.state.enrollments] == [True]


def test_a_cart_not_bought_is_reminded_once_then_offered() -> None:
    shop = cart_shop()
    shop.track(T0, "Product Added", cart_id="c1", **SHOE)
    shop.until(T0 + 3 * DAY)
    [reminder, offer] = shop.sent()
    assert reminder == ("reminder", "pending", None)
    assert offer[0] in {"discount_email", "last_call"} and offer[1] == "pending"
    assert shop.exits() == ["completed"]


def test_an_order_just_before_the_timeout_settles_it() -> None:
    shop = cart_shop()
    shop.track(T0, "Product Added", cart_id="c1", **SHOE)
    shop.track(T0 + 59 * MIN, "Checkout Started", order_id="o1", value=90.0, products=[SHOE])
    shop.track(T0 + HOUR - dt.timedelta(seconds=1), "Order Completed", order_id="o1",
               checkout_id="k1", total=90.0, products=[SHOE])  # fmt: skip
    shop.until(T0 + 3 * DAY)
    assert shop.sent() == [] and shop.exits() == ["goal"]


def test_an_order_for_other_products_before_the_cart_is_no_settlement() -> None:
    """An order told late (it happened before the cart's last activity) takes only what it
    bought out of the cart: the socks still wait, and are reminded of."""
    shop = cart_shop()
    shop.track(T0, "Product Added", cart_id="c1", **SOCKS)
    shop.track(T0 - HOUR, "Order Completed", order_id="o0", total=90.0, products=[SHOE])
    shop.until(T0 + 2 * HOUR)
    assert shop.sent() == [("reminder", "pending", None)]
    (reminder,) = shop.messages
    assert [i["product_id"] for i in reminder.payload["cart"]["items"]] == ["P2"]


def test_an_order_of_the_product_settles_a_cart_it_did_not_empty() -> None:
    shop = cart_shop()
    shop.track(T0, "Product Added", cart_id="c1", **SHOE)
    shop.track(T0 + 10 * MIN, "Product Added", cart_id="c1", **SOCKS)
    # told late: it happened before the socks were added, so it empties nothing, but it
    # bought the shoe the cart started with
    shop.track(T0 + 5 * MIN, "Order Completed", order_id="o1", total=90.0, products=[SHOE])
    shop.until(T0 + 3 * DAY)
    assert shop.sent() == [] and shop.exits() == ["goal"]


def test_a_checkout_is_settled_by_its_order_id_or_by_another_order_that_empties_it() -> None:
    checkout = journey_definitions.loads(CHECKOUT, "checkout.yaml")
    shop = Shop(checkout)
    shop.track(T0, "Product Added", cart_id="c1", **SHOE)
    shop.track(T0 + MIN, "Checkout Started", order_id="o1", value=90.0, products=[SHOE])
    shop.track(T0 + 30 * MIN, "Order Completed", order_id="o1", total=90.0, products=[SHOE])
    assert shop.exits() == ["goal"]
    other = Shop(checkout)
    other.track(T0, "Product Added", cart_id="c1", **SHOE)
    other.track(T0 + MIN, "Checkout Started", order_id="o1", value=90.0, products=[SHOE])
    other.track(T0 + 30 * MIN, "Product Added", cart_id="c1", **SOCKS)  # back to the cart
    other.track(T0 + HOUR, "Order Completed", order_id="o2", total=99.0,
                products=[SHOE, SOCKS])  # fmt: skip
    assert other.sent() == []
    assert other.exits() == ["goal"]


def test_without_settles_a_cart_key_misses_the_spec_order() -> None:
    """What the journeys did before ``settles``: the order names no cart, the key never
    matches, and the reminder goes out after the purchase, with an empty basket."""
    keyed = journey_definitions.loads(
        CHECKOUT.replace("settles: true", "key: event.properties.cart_id")
        .replace("Checkout Started", "Product Added")
        .replace("order_id}", "cart_id}"),
        "keyed.yaml",
    )
    shop = Shop(keyed)
    shop.track(T0, "Product Added", cart_id="c1", **SHOE)
    shop.track(T0 + 30 * MIN, "Order Completed", order_id="o1", total=90.0, products=[SHOE])
    shop.until(T0 + 3 * HOUR)
    (reminder,) = shop.messages
    assert reminder.payload["cart"]["items"] == []


def settled_by(ids: set[str], products: set[str]) -> Settlement:
    return Settlement(frozenset(ids), frozenset(products))


def test_settles_links_by_ids_then_by_products() -> None:
    shop = Shop(CART_JOURNEY)
    shop.track(T0, "Product Added", cart_id="c1", **SHOE)
    (enrollment,) = shop.state.enrollments
    assert machine.settles(settled_by({"o9", "c1"}, set()), enrollment)
    assert machine.settles(settled_by({"o9"}, {"P1"}), enrollment)
    assert not machine.settles(settled_by({"o9", "c2"}, {"P2"}), enrollment)
    assert not machine.settles(None, enrollment)


def test_a_reminder_never_lists_a_product_bought_since_the_cart_started() -> None:
    cart = Cart(items={"P1": CartItem(product_id="P1", price=90.0),
                       "P2": CartItem(product_id="P2", price=9.0)})  # fmt: skip
    p = Profile(profile_id="p1", cart=cart, orders={"o1": Order(T0 + HOUR, 90.0, (), ("P1",))})
    assert [i["product_id"] for i in profile_view.cart_view(p, T0)["items"]] == ["P2"]
    assert profile_view.cart_view(p, T0)["value"] == 9.0
    assert len(profile_view.cart_view(p, T0 + 2 * HOUR)["items"]) == 2  # bought before: shown
    assert len(profile_view.cart_view(p)["items"]) == 2


def test_the_cart_remembers_its_ids_until_an_order_empties_it() -> None:
    shop = Shop()
    shop.track(T0, "Product Added", cart_id="c1", **SHOE)
    shop.track(T0 + MIN, "Cart Viewed", cart_id="c2", products=[SHOE])
    shop.track(T0 + 2 * MIN, "Checkout Started", order_id="o1", checkout_id="k1",
               products=[SHOE])  # fmt: skip
    before = shop.profile.cart
    shop.track(T0 + 3 * MIN, "Order Completed", order_id="o1", total=90.0, products=[SHOE])
    assert (before.ids, shop.profile.cart.ids) == (("c1", "c2", "k1", "o1"), ())
    order = shop.profile.orders["o1"]
    assert (order.carts, order.products) == (("c1", "c2", "k1"), ("P1",))  # o1: its key
    stored = msgspec.json.decode(msgspec.json.encode(shop.profile), type=Profile)
    assert stored == shop.profile
    old = msgspec.json.decode(b'{"profile_id":"p","orders":{"o":["2026-01-01T00:00:00Z",1.0]}}',
                              type=Profile)  # fmt: skip
    assert old.orders["o"].products == ()  # profiles stored before these fields still load
