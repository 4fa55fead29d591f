"""What shoppers do with the retailer's people and places, recorded and told as events:
registering for a store event and coming to it (``Store Event Registered``, ``Store Event
Attended``), booking an expert (``Appointment Booked``, and the traits ``appointment_on``,
``appointment_at``, ``appointment_with`` and ``appointment_store`` for a reminder on the
day), and ordering
elsewhere what the store is out of (the endless aisle: Segment's ``Order Completed``). Each
is ingested like the shopper's own events (source ``catalog``), so journeys follow up (a
confirmation, a reminder, a thank you with the event's products) and the profile counts the
order.

The messageId of each names what happened (the event and the shopper, the appointment, the
order), so a retried request tells it once.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
from dataclasses import dataclass
from typing import Any, Final

from juncture.core import engagement, retail
from juncture.runtime.catalog_events import tell
from juncture.runtime.ingest import Ingestor
from juncture.store import programme_visits as stored
from juncture.store.catalog import Catalog
from juncture.store.programme_visits import Visits
from juncture.store.programmes import Programmes

REGISTERED: Final = "Store Event Registered"
ATTENDED: Final = "Store Event Attended"
BOOKED: Final = "Appointment Booked"
ORDERED: Final = "Order Completed"


@dataclass(frozen=True, slots=True)
class Order:
    """An endless-aisle order: ``quantity`` of a product from ``source`` (the location that
    has it), for a shopper standing in ``store_code``."""

    order_id: str
    customer_id: str
    product_id: str
    source: str
    quantity: int = 1
    store_code: str | None = None


class Visitors:
    """Registrations, attendance, bookings and endless-aisle orders, told as events."""

    def __init__(self, catalog: Catalog, programmes: Programmes, ingestor: Ingestor) -> None:
        self.catalog = catalog
        self.programmes = programmes
        self.visits = Visits(catalog.engine)
        self.ingestor = ingestor

    def event(self, event_id: str) -> engagement.StoreEvent | None:
        found = self.programmes.store_events(ids=[event_id])
        return found[0] if found else None

    def register(self, e: engagement.StoreEvent, customer_id: str) -> str:
        now = self.ingestor.clock.now()
        done = self.visits.register(e.event_id, customer_id, e.capacity, now)
        if done == stored.REGISTERED:
            self._tell(REGISTERED, customer_id, _event_props(e), f"{e.event_id}:registered", now)
        return done

    def attend(self, e: engagement.StoreEvent, customer_id: str) -> bool:
        now = self.ingestor.clock.now()
        if not self.visits.attend(e.event_id, customer_id, now):
            return False
        self._tell(ATTENDED, customer_id, _event_props(e), f"{e.event_id}:attended", now)
        return True

    def book(self, found: engagement.Appointment, associate_name: str) -> str:
        done = self.visits.book(found)
        if done == stored.BOOKED:
            props = {
                "appointment_id": found.appointment_id, "associate_id": found.associate_id,
                "associate_name": associate_name, "store_code": found.store_code,
                "starts_at": found.starts.isoformat(), "product_id": found.product_id,
            }  # fmt: skip
            self._tell(BOOKED, found.customer_id, props, found.appointment_id, found.created_at)
            self._remember(found, associate_name)
        return done

    def _remember(self, found: engagement.Appointment, associate_name: str) -> None:
        """The next appointment as traits, so that a journey's date trigger
        (``date: appointment_on``) reminds the shopper on the day."""
        traits = {
            "appointment_on": found.starts.date().isoformat(),  # a date: due at its midnight
            "appointment_at": found.starts.isoformat(),
            "appointment_with": associate_name,
            "appointment_store": found.store_code,
        }
        digest = hashlib.sha256(f"remember\x1f{found.appointment_id}".encode()).hexdigest()[:40]
        message = {
            "type": "identify", "userId": found.customer_id, "traits": traits,
            "messageId": "catalog-" + digest, "timestamp": found.created_at.isoformat(),
        }  # fmt: skip
        tell(self.ingestor, [message])

    def order(self, order: Order, product: retail.Product, price: float) -> dict[str, Any]:
        """Record the order as Segment's ``Order Completed`` (with ``store_code`` and the
        shipping location) and take its quantity off the source's stock line."""
        now = self.ingestor.clock.now()
        line = next(
            (s for s in self.catalog.stock_of(product.id) if s.store_code == order.source), None
        )
        if line is not None and line.quantity is not None:
            left = max(0, line.quantity - order.quantity)
            self.catalog.upsert_stock([_with_quantity(line, left)], now)
        props = {
            "order_id": order.order_id, "total": round(price * order.quantity, 2),
            "revenue": round(price * order.quantity, 2), "currency": product.currency,
            "store_code": order.store_code, "ship_from": order.source,
            "fulfillment": "endless_aisle",
            "products": [{"product_id": product.id, "name": product.title, "price": price,
                          "quantity": order.quantity, "brand": product.brand,
                          "category": product.category}],
        }  # fmt: skip
        self._tell(ORDERED, order.customer_id, props, f"order:{order.order_id}", now)
        return props

    def _tell(
        self, name: str, customer_id: str, props: dict[str, Any], what: str, at: dt.datetime
    ) -> None:
        digest = hashlib.sha256(f"{name}\x1f{what}\x1f{customer_id}".encode()).hexdigest()[:40]
        message = {
            "type": "track", "event": name, "userId": customer_id,
            "messageId": "catalog-" + digest, "timestamp": at.isoformat(),
            "properties": {k: v for k, v in props.items() if v is not None},
        }  # fmt: skip
        tell(self.ingestor, [message])


def _event_props(e: engagement.StoreEvent) -> dict[str, Any]:
    return {
        "event_id": e.event_id, "name": e.title, "store_code": e.store_code,
        "starts_at": e.starts.isoformat(), "product_ids": list(e.product_ids) or None,
    }  # fmt: skip


def _with_quantity(line: retail.Stock, quantity: int) -> retail.Stock:
    return dataclasses.replace(line, quantity=quantity)
