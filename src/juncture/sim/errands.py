"""What shoppers ask the retailer's site, app or till to do for them beyond browsing: order
elsewhere what their store is out of (the endless aisle), book an expert and perhaps cancel,
register for a store event and come to it, redeem a coupon at checkout.

A tap on a touchpoint's button becomes an :class:`Errand` at its moment; whoever plays the
retailer's systems (the demo's storefront) carries it out through Juncture's API and hands
back what it confirmed: a :class:`~juncture.sim.response.Delivery` on ``onsite`` whose
template starts with :data:`CONFIRM` (``confirm_appointment``, ``confirm_registration``),
which the shopper acts on (keeping the appointment or cancelling it, coming to the event).
Every draw comes from the shopper's reaction generator, so organic behaviour stays as it was.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from juncture.sim import wire
from juncture.sim.session import DAY, MINUTE, Session, Shopper, World

if TYPE_CHECKING:
    from juncture.sim.response import Delivery

ORDER, BOOK, CANCEL = "order", "book", "cancel"
REGISTER, ATTEND, REDEEM = "register", "attend", "redeem"
CONFIRM: Final = "confirm_"
# The chance a click on the touchpoint goes on to its action (order, book, register).
ACT: Final = {"endless_aisle": 0.6, "expert": 0.6, "event": 0.7, "presence": 0.5}
CANCELS: Final = 0.25  # a booked appointment cancelled before it starts
ATTENDS: Final = 0.8  # a registered shopper comes to the event
COUPON_KEPT: Final = 3 * DAY  # a coupon clicked is used at a checkout this soon


@dataclass(frozen=True, slots=True)
class Errand:
    """A shopper's request to the retailer's systems at ``ms``: ``action`` and what it names
    (``product_id``, ``ship_from``, ``store_code``, ``associate_id``, ``appointment_id``,
    ``event_id``, ``coupon_id``, ``order_id``)."""

    ms: int
    user_id: str
    action: str
    detail: tuple[tuple[str, str], ...]

    def named(self, key: str) -> str | None:
        return dict(self.detail).get(key)


def ask(world: World, ms: int, shopper: Shopper, action: str, **detail: str | None) -> None:
    named = tuple((k, v) for k, v in sorted(detail.items()) if v is not None)
    world.errand(Errand(ms, shopper.customer.user_id, action, named))


def clicked(session: Session, delivery: Delivery) -> None:
    """What a click on a touchpoint goes on to: a coupon kept for the next checkout; an
    order to ship, a booking or a registration at the action's rate."""
    shopper, kind = session.shopper, delivery.template.removeprefix("onsite_")
    coupon = delivery.named("coupon_id")
    if coupon is not None:
        shopper.coupon = (coupon, kind, session.ms + COUPON_KEPT)
    if shopper.react_rng.random() >= ACT.get(kind, 0.0):
        return
    world, ms, at = session.world, session.ms, delivery.named
    product, store = at("product_id"), at("store_code")
    if kind == "endless_aisle" and at("ship_from"):
        ask(world, ms, shopper, ORDER, product_id=product, ship_from=at("ship_from"),
            store_code=store)  # fmt: skip
    elif kind == "expert" and at("associate_id"):
        ask(world, ms, shopper, BOOK, associate_id=at("associate_id"), product_id=product)
    elif at("event_id") and store == shopper.customer.city.store_id:
        if at("event_id") in shopper.registered:
            return
        shopper.registered.add(str(at("event_id")))
        ask(world, ms, shopper, REGISTER, event_id=at("event_id"))


def confirmed(world: World, shopper: Shopper, delivery: Delivery, ms: int) -> None:
    """The retailer confirmed an errand: an appointment kept (a visit to the store at its
    time) or cancelled in the app, an event come to (checked in at the door)."""
    rng, what = shopper.react_rng, delivery.template.removeprefix(CONFIRM)
    starts = delivery.named("starts_at")
    world.truth.seen(what, "confirmed")
    if starts is None or delivery.named("store_code") is None:
        return
    at = wire.to_ms(dt.datetime.fromisoformat(starts))
    if what == "appointment" and rng.random() < CANCELS:
        when = ms + int(rng.uniform(0.1, 0.9) * max(0, at - ms))
        ask(world, when, shopper, CANCEL, appointment_id=delivery.named("appointment_id"))
        return
    if what == "registration" and rng.random() >= ATTENDS:
        return
    arrive = at - int(rng.uniform(2, 15) * MINUTE)
    world.schedule(max(ms, arrive), "come", shopper, delivery)


def came(world: World, shopper: Shopper, delivery: Delivery, ms: int) -> None:
    """At the store for an appointment or an event (the visit itself is
    :func:`juncture.sim.visits.store`'s): the door checks a registrant in."""
    world.truth.seen(delivery.template.removeprefix(CONFIRM), "came")
    if delivery.named("event_id") is not None:
        ask(world, ms, shopper, ATTEND, event_id=delivery.named("event_id"))


def coupon_at_checkout(session: Session, order_id: str) -> dict[str, str]:
    """A coupon the shopper kept, applied to this order (Segment's ``Coupon Applied``, with
    the touchpoint it came from as ``promotion_id``, and the checkout's redemption): the
    order's ``coupon`` property, or nothing."""
    shopper = session.shopper
    if shopper.coupon is None or shopper.coupon[2] < session.ms:
        shopper.coupon = None
        return {}
    (coupon_id, kind, _), shopper.coupon = shopper.coupon, None
    props = {"order_id": order_id, "coupon_id": coupon_id, "promotion_id": f"touchpoint_{kind}"}
    session.track("Coupon Applied", props)
    ask(session.world, session.ms, shopper, REDEEM, coupon_id=coupon_id, order_id=order_id)
    return {"coupon": coupon_id}
