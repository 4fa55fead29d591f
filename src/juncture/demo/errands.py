"""What the demo retailer's systems do for its shoppers when they tap a touchpoint's button
(:mod:`juncture.sim.errands`), through the calls behind Juncture's HTTP API, in-process:

- order to ship what the store is out of (``POST /v1/orders/endless-aisle``: Segment's
  ``Order Completed`` with ``fulfillment: endless_aisle``);
- book the expert shown, the first free slot from the next day on
  (``POST /v1/appointments``), and cancel it (``DELETE /v1/appointments/{id}``);
- register for a store event (``POST /v1/store-events/{id}/registrations``) and check the
  shopper in at the door (``.../attendance``);
- redeem a coupon at checkout (``POST /v1/coupons/{id}/redemptions``).

A booking and a registration are confirmed to the shopper (a ``confirm_...`` delivery), who
keeps the appointment or cancels it, and comes to the event or not. What was refused (a slot
taken meanwhile, stock gone, a coupon at its limit) is counted by action and code.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Final

from juncture import wiring
from juncture.errors import JunctureError
from juncture.runtime import appointments
from juncture.runtime.catalog_visits import Order, Visitors
from juncture.runtime.clock import Clock
from juncture.sim import errands as asked
from juncture.sim.errands import Errand
from juncture.sim.response import Delivery
from juncture.store import programme_visits as stored

DAYS_AHEAD: Final = 7  # days searched for a free slot, from the next day


class Errands:
    """Carries out the shoppers' errands (see the module's docstring)."""

    def __init__(self, juncture: wiring.Juncture, clock: Clock) -> None:
        store = juncture.store
        self.visitors = Visitors(store.catalog, store.programmes, juncture.ingestor)
        self.clock = clock
        self.done: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()

    def run(self, errand: Errand) -> Delivery | None:
        """Carry out one errand; the confirmation to hand to the shopper, if any."""
        act: dict[str, Callable[[Errand], Delivery | None]] = {
            asked.ORDER: self._order, asked.BOOK: self._book, asked.CANCEL: self._cancel,
            asked.REGISTER: self._register, asked.ATTEND: self._attend,
            asked.REDEEM: self._redeem,
        }  # fmt: skip
        try:
            found = act[errand.action](errand)
        except JunctureError as exc:
            self.refused[f"{errand.action}:{exc.code}"] += 1
            return None
        return found

    def training(self, window: dt.timedelta) -> dict[str, int]:
        """The associate-training report over ``window`` (``GET /v1/training``): the store
        product lines with demand, the demand counted, and the lines needing training."""
        lines = self.visitors.training(self.clock.now(), window)
        return {"lines": len(lines), "demand": sum(int(x["demand"]) for x in lines),
                "needed": sum(bool(x["trainingNeeded"]) for x in lines)}  # fmt: skip

    def _order(self, e: Errand) -> None:
        order_id = f"ea-{e.user_id}-{e.ms}"
        placed = Order(order_id, e.user_id, str(e.named("product_id")), str(e.named("ship_from")),
                       store_code=e.named("store_code"))  # fmt: skip
        self.visitors.place(placed)
        self.done[e.action] += 1

    def _book(self, e: Errand) -> Delivery | None:
        now = self.clock.now()
        who = appointments.associate(self.visitors, str(e.named("associate_id")))
        if who is None:
            self.refused[f"{e.action}:no_associate"] += 1
            return None
        today = self.visitors.local(who.store_code, now).date()
        for ahead in range(1, DAYS_AHEAD + 1):
            slots = appointments.free(self.visitors, who, today + dt.timedelta(days=ahead), now)
            if slots:
                break
        else:
            self.refused[f"{e.action}:no_free_slot"] += 1
            return None
        made, _, _ = appointments.book(
            self.visitors, e.user_id, who.associate_id, slots[0],
            product_id=e.named("product_id"), now=now,
        )  # fmt: skip
        self.done[e.action] += 1
        found = {"appointment_id": made.appointment_id, "store_code": made.store_code,
                 "starts_at": made.starts.isoformat()}  # fmt: skip
        return self._confirm("appointment", e, found)

    def _cancel(self, e: Errand) -> None:
        found = str(e.named("appointment_id"))
        done, _ = appointments.cancel(self.visitors, found, self.clock.now())
        self.done[e.action if done == appointments.CANCELLED else f"{e.action}:{done}"] += 1

    def _register(self, e: Errand) -> Delivery | None:
        found = self.visitors.event(str(e.named("event_id")))
        if found is None or found.over(self.clock.now()):
            self.refused[f"{e.action}:event_over"] += 1
            return None
        done = self.visitors.register(found, e.user_id)
        if done == stored.FULL:
            self.refused[f"{e.action}:event_full"] += 1
            return None
        self.done[e.action] += 1
        named = {"event_id": found.event_id, "store_code": found.store_code,
                 "starts_at": found.starts.isoformat()}  # fmt: skip
        return self._confirm("registration", e, named)

    def _attend(self, e: Errand) -> None:
        found = self.visitors.event(str(e.named("event_id")))
        if found is not None and self.visitors.attend(found, e.user_id):
            self.done[e.action] += 1

    def _redeem(self, e: Errand) -> None:
        programmes = self.visitors.programmes
        coupon, order = str(e.named("coupon_id")), str(e.named("order_id"))
        done = programmes.redeem(coupon, order, e.user_id, self.clock.now())
        self.done[e.action if done == "redeemed" else f"{e.action}:{done}"] += 1

    def _confirm(self, what: str, e: Errand, named: Mapping[str, str | None]) -> Delivery:
        return Delivery(
            at=self.clock.now(), channel="onsite", template=f"{asked.CONFIRM}{what}",
            user_id=e.user_id, purpose="transactional",
            detail=tuple((k, v) for k, v in named.items() if v is not None),
        )  # fmt: skip
