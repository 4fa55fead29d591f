"""What the demo's customers found in their inbox about their carts (:class:`CartReminders`).

A cart message is one whose template lists the cart (``Templates.lists_cart``). Of those that
reached a simulated customer, the demo counts the ones that showed an empty basket and the
ones that came after the customer had bought their cart: an order of theirs (the simulation's
ground truth) between the event that started the message's enrollment and the delivery, of
the product that event added or of one the message lists (an order of other things, in a
store, say, leaves the online cart as it was).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from juncture.channels.base import OutboundMessage
from juncture.channels.templates import Templates
from juncture.sim.truth import Purchase


@dataclass
class CartReminders:
    templates: Templates = field(default_factory=Templates)
    # (user id, when the enrollment started, when delivered, the products of the cart, shown)
    delivered: list[tuple[str | None, dt.datetime | None, dt.datetime, frozenset[str], bool]] = (
        field(default_factory=list)
    )

    def record(self, message: OutboundMessage, at: dt.datetime) -> None:
        """Note a delivered message if it is a cart message."""
        payload = message.payload
        if not self.templates.lists_cart(message.template, payload.get("inline")):
            return
        event = payload.get("event") or {}
        started = event.get("timestamp") if isinstance(event, dict) else None
        since = dt.datetime.fromisoformat(started) if isinstance(started, str) else None
        items = (payload.get("cart") or {}).get("items") or ()
        products = {str(i.get("product_id")) for i in items}
        if isinstance(event, dict) and event.get("product_id") is not None:
            products.add(str(event["product_id"]))
        self.delivered.append((payload.get("user_id"), since, at, frozenset(products), bool(items)))

    def figures(self, purchases: Iterable[Purchase]) -> dict[str, Any]:
        """``sent``, ``after_purchase`` and ``empty_basket`` counts."""
        bought: dict[str, list[Purchase]] = {}
        for purchase in purchases:
            bought.setdefault(purchase.user_id, []).append(purchase)
        after = sum(
            1
            for user, since, at, products, _ in self.delivered
            if user is not None
            and since is not None
            and any(
                since <= p.at <= at and not products.isdisjoint(p.product_ids)
                for p in bought.get(user, ())
            )
        )
        empty = sum(1 for *_, shown in self.delivered if not shown)
        return {"sent": len(self.delivered), "after_purchase": after, "empty_basket": empty}
