"""What shoppers do with the retailer's people and places, recorded and told as events:
registering for a store event and coming to it (``Store Event Registered``, ``Store Event
Attended``), booking an expert (``Appointment Booked``) and cancelling (``Appointment
Cancelled``), with the shopper's next appointment as traits for a reminder on the day (on
the store's clock), and ordering
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

from juncture.core import engagement, retail, training
from juncture.errors import Conflict, NotFound
from juncture.runtime.catalog_events import tell
from juncture.runtime.ingest import Ingestor
from juncture.store import programme_visits as stored
from juncture.store.catalog import Catalog
from juncture.store.programme_visits import Visits
from juncture.store.programmes import Programmes

REGISTERED: Final = "Store Event Registered"
ATTENDED: Final = "Store Event Attended"
BOOKED: Final = "Appointment Booked"
CANCELLED: Final = "Appointment Cancelled"
TRAITS: Final = (
    "appointment_on", "appointment_at", "appointment_remind_at", "appointment_with",
    "appointment_store",
)  # fmt: skip
REMIND_AT: Final = dt.time(8)  # the reminder's time on the appointment's day, store's clock
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
            props = self._appointment_props(found, associate_name)
            what = f"{found.appointment_id}:{found.created_at.isoformat()}"  # again after a cancel
            self._tell(BOOKED, found.customer_id, props, what, found.created_at)
            self._remember(found.customer_id, found.created_at, f"booked:{what}")
        return done

    def cancel(self, appointment_id: str, associate_name: str) -> engagement.Appointment | None:
        """Cancel a booked appointment and tell ``Appointment Cancelled``; the shopper's
        appointment traits move to their next booking, or are cleared (so the reminder's
        date timer goes). None when nothing was booked under that id."""
        found = self.visits.cancel(appointment_id)
        if found is None:
            return None
        now = self.ingestor.clock.now()
        props = self._appointment_props(found, associate_name)
        what = f"{found.appointment_id}:{found.created_at.isoformat()}"
        self._tell(CANCELLED, found.customer_id, props, what, now)
        self._remember(found.customer_id, now, f"cancelled:{what}")
        return found

    def training(self, now: dt.datetime, window: dt.timedelta) -> list[dict[str, Any]]:
        """Where associates need training (``GET /v1/training``): the demand the log shows
        by store and product line within ``window`` of ``now`` against their skills."""
        rows = self.visits.demand(list(training.KINDS), now - window)
        products = self.catalog.products(sorted({pid for _, pid, _ in rows}))
        launches = self.catalog.launches(now - window, now + window)
        stores = [x.store_code for x in self.catalog.locations("store")]
        lines = training.demand(rows, products, launches, stores)
        known = products | {p.id: p for p in launches}
        return training.report(lines, known, self.programmes.associates(), now)

    def local(self, store_code: str, at: dt.datetime) -> dt.datetime:
        """``at`` on the clock of the store (UTC when it names no time zone)."""
        return retail.local_time(self.catalog.location(store_code), at)

    def _appointment_props(self, a: engagement.Appointment, associate_name: str) -> dict[str, Any]:
        return {
            "appointment_id": a.appointment_id, "associate_id": a.associate_id,
            "associate_name": associate_name, "store_code": a.store_code,
            "starts_at": self.local(a.store_code, a.starts).isoformat(),
            "product_id": a.product_id,
        }  # fmt: skip

    def _remember(self, customer_id: str, now: dt.datetime, why: str) -> None:
        """The shopper's next booked appointment as traits (all null when none is left), on
        the store's clock: ``appointment_on`` (the day), ``appointment_at``,
        ``appointment_remind_at`` (08:00 that day, for the reminder journey's date
        trigger), ``appointment_with`` and ``appointment_store``."""
        ahead = [a for a in self.visits.appointments(customer_id=customer_id) if a.starts > now]
        traits: dict[str, Any] = dict.fromkeys(TRAITS)
        if ahead:
            a = ahead[0]
            local = self.local(a.store_code, a.starts)
            who = next(
                (x.name for x in self.programmes.associates() if x.associate_id == a.associate_id),
                None,
            )
            remind = local.replace(hour=REMIND_AT.hour, minute=REMIND_AT.minute)
            traits |= {
                "appointment_on": local.date().isoformat(),
                "appointment_at": local.isoformat(),
                "appointment_remind_at": min(remind, local).isoformat(),
                "appointment_with": who,
                "appointment_store": a.store_code,
            }
        digest = hashlib.sha256(f"remember\x1f{customer_id}\x1f{why}".encode())
        message = {
            "type": "identify", "userId": customer_id, "traits": traits,
            "messageId": "catalog-" + digest.hexdigest()[:40], "timestamp": now.isoformat(),
        }  # fmt: skip
        tell(self.ingestor, [message])

    def place(self, order: Order) -> dict[str, Any]:
        """An endless-aisle order as the till or app places it: the product must exist
        (NotFound) and its source must have the quantity (Conflict, ``not_in_stock``); it is
        priced at the source's price in force and recorded by :meth:`order`."""
        product = self.catalog.product(order.product_id)
        if product is None:
            raise NotFound(f"no product {order.product_id!r}", where="productId")
        lines = self.catalog.stock_of(order.product_id)
        line = next((s for s in lines if s.store_code == order.source), None)
        short = line is not None and line.quantity is not None and line.quantity < order.quantity
        if line is None or not retail.available(line) or short:
            raise Conflict(f"{order.source!r} cannot ship {order.quantity}", code="not_in_stock")
        price = retail.stock_price_at(line, product, self.ingestor.clock.now()) or 0.0
        return self.order(order, product, price)

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
