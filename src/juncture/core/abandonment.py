"""Cart and checkout abandonment: durable timers, at most one running per profile.

A cart is *in checkout* once ``Checkout Started`` came after the last order (the rule the
``decision`` stage uses). A checkout that is started and never completed is the most
valuable abandonment (the shopper got as far as paying), so it is a signal of its own, as
in Segment-style tools, with its own quiet period:

- Cart activity (``Product Added``, ``Product Removed``, ``Cart Viewed``) on a cart with
  items that is not in checkout schedules, or moves, ``cart_abandonment:<profile_id>`` to
  the last activity plus ``cart_quiet``. It fires ``Cart Abandoned``.
- ``Checkout Started`` cancels that timer and schedules
  ``checkout_abandonment:<profile_id>`` at the last activity plus ``checkout_quiet``;
  cart activity after it moves this one (the cart stays in checkout until an order). It
  fires ``Checkout Abandoned``.
- ``Order Completed``, or a cart emptied, cancels both.

A due timer fires only while it is current: its due time is the profile's last cart
activity plus its quiet period, the cart still holds items and is in the timer's phase.
One left over from earlier activity, or from the other phase, never fires. The derived
event's timestamp is the due time and its ``message_id`` derives from the profile id, the
due time and its name, so a replay stores it once.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final

from juncture.core.events import Event
from juncture.core.profile.model import Cart, Profile, plain
from juncture.core.profile.reducer import DERIVED_SOURCE
from juncture.core.timers import CancelTimer, ScheduleTimer, TimerCommand, signal_id

CART_ABANDONED: Final = "Cart Abandoned"
CHECKOUT_ABANDONED: Final = "Checkout Abandoned"
CART_TIMER: Final = "cart_abandonment"
CHECKOUT_TIMER: Final = "checkout_abandonment"
_SIGNAL: Final = {CART_TIMER: CART_ABANDONED, CHECKOUT_TIMER: CHECKOUT_ABANDONED}


def cart_key(profile_id: str) -> str:
    return f"{CART_TIMER}:{profile_id}"


def checkout_key(profile_id: str) -> str:
    return f"{CHECKOUT_TIMER}:{profile_id}"


def in_checkout(cart: Cart) -> bool:
    """``Checkout Started`` came after the last completed order."""
    return cart.checkout_at is not None and (
        cart.cleared_at is None or cart.checkout_at > cart.cleared_at
    )


def cart_json(cart: Cart) -> dict[str, Any]:
    return {
        "cart": [plain(item) for item in cart.items.values()],
        "cart_value": cart.value,
        "item_count": cart.quantity,
        "currency": cart.currency,
    }


def timers(
    before: Cart,
    after: Profile,
    name: str | None,
    quiet: dt.timedelta,
    checkout_quiet: dt.timedelta,
) -> tuple[TimerCommand, ...]:
    """The timer commands of one client event (``name``: its track name, if any)."""
    cart, pid = after.cart, after.profile_id
    if cart is before and name != "Order Completed":
        return ()  # most events leave the cart alone: nothing moved
    if name == "Order Completed" or (before.items and not cart.items):
        return (CancelTimer(key=cart_key(pid)), CancelTimer(key=checkout_key(pid)))
    checkout = in_checkout(cart)
    # A late ``Checkout Started`` moves the phase without moving the last activity.
    moved = cart.updated_at != before.updated_at or checkout != in_checkout(before)
    if not cart.items or cart.updated_at is None or not moved:
        return ()
    if not checkout:
        return (_schedule(cart_key(pid), cart.updated_at + quiet, CART_TIMER, pid),)
    return (
        CancelTimer(key=cart_key(pid)),
        _schedule(checkout_key(pid), cart.updated_at + checkout_quiet, CHECKOUT_TIMER, pid),
    )


def _schedule(key: str, due: dt.datetime, kind: str, pid: str) -> ScheduleTimer:
    return ScheduleTimer(key=key, due_at=due, kind=kind, profile_id=pid)


def fire(
    profile: Profile,
    timer: ScheduleTimer,
    now: dt.datetime,
    quiet: dt.timedelta,
    checkout_quiet: dt.timedelta,
) -> list[Event]:
    """``Cart Abandoned`` or ``Checkout Abandoned`` if ``timer`` is due and current."""
    cart = profile.cart
    name = _SIGNAL.get(timer.kind)
    if name is None or not cart.items or cart.updated_at is None:
        return []
    checkout = in_checkout(cart)
    if checkout != (timer.kind == CHECKOUT_TIMER):
        return []
    due = cart.updated_at + (checkout_quiet if checkout else quiet)
    if timer.due_at != due or now < due:
        return []
    properties = {
        "profile_id": profile.profile_id,
        **cart_json(cart),
        "last_activity_at": cart.updated_at.isoformat(),
    }
    if checkout and cart.checkout_at is not None:
        properties["checkout_started_at"] = cart.checkout_at.isoformat()
    return [
        Event(
            source=DERIVED_SOURCE,
            message_id=signal_id(f"{profile.profile_id}@{due.isoformat()}", name),
            type="track",
            event=name,
            timestamp=due,
            received_at=now,
            properties=properties,
        )
    ]
