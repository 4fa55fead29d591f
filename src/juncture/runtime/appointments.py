"""Expert appointments as the retailer's site, app or till makes them: an associate's free
slots on a day (times on the store's clock), booking one (a retry of the same booking answers
it again) and cancelling one that has not started. ``POST /v1/appointments`` and the demo's
storefront both come here; :class:`~juncture.runtime.catalog_visits.Visitors` records and
tells what happened."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Final

from juncture.core import comparisons, engagement, offers, retail
from juncture.errors import Conflict, NotFound
from juncture.runtime.catalog_visits import Visitors
from juncture.store import programme_visits as stored

ALREADY_BOOKED: Final = "already_booked"
CANCELLED, ALREADY_CANCELLED = "cancelled", "already_cancelled"


def associate(visitors: Visitors, associate_id: str) -> offers.Associate | None:
    people = visitors.programmes.associates()
    return next((a for a in people if a.associate_id == associate_id), None)


def taken(
    visitors: Visitors, associate_id: str, day: dt.date, zone: dt.tzinfo
) -> list[dt.datetime]:
    """The starts booked with the associate on ``day`` (the store's day, in ``zone``)."""
    between = engagement.local_day(day, zone)
    found = visitors.visits.appointments(associate_ids=[associate_id], between=between)
    return [a.starts for a in found]


def free(
    visitors: Visitors, who: offers.Associate, day: dt.date, now: dt.datetime
) -> list[dt.datetime]:
    """The associate's free slots on ``day`` (the store's day), on the store's clock."""
    zone = retail.zone_of(visitors.catalog.location(who.store_code))
    hours = who.schedule.get(retail.WEEKDAYS[day.weekday()])
    booked = taken(visitors, who.associate_id, day, zone)
    return engagement.free_slots(hours, day, booked, now, zone)


def experts(
    visitors: Visitors, store: str, product: retail.Product | None, day: dt.date
) -> list[offers.Associate]:
    """The associates at ``store`` (who know the product's line, when one is given)."""
    people = visitors.programmes.associates(store)
    if product is None:
        return people
    return comparisons.experts(people, product, retail.WEEKDAYS[day.weekday()])


def book(
    visitors: Visitors,
    customer_id: str,
    associate_id: str,
    starts: dt.datetime,
    *,
    product_id: str | None,
    now: dt.datetime,
) -> tuple[engagement.Appointment, str, str]:
    """Book a free slot of the associate: the appointment, the associate's name and
    ``booked`` (or ``already_booked`` for a retry); NotFound or Conflict otherwise."""
    starts = starts.astimezone(dt.UTC)
    who = associate(visitors, associate_id)
    if who is None:
        raise NotFound(f"no associate {associate_id!r}", where="associateId")
    made = engagement.Appointment(
        appointment_id(customer_id, who.associate_id, starts), who.associate_id,
        who.store_code, starts, customer_id, product_id, created_at=now,
    )  # fmt: skip
    mine = visitors.visits.appointments(customer_id=customer_id)
    if any(a.appointment_id == made.appointment_id for a in mine):
        return made, who.name, ALREADY_BOOKED
    local = visitors.local(who.store_code, starts)
    slots = {s.astimezone(dt.UTC) for s in free(visitors, who, local.date(), now)}
    if starts not in slots or visitors.book(made, who.name) == stored.TAKEN:
        raise Conflict(f"{who.name} has no free slot at {local.isoformat()}", code="slot_taken")
    return made, who.name, stored.BOOKED


def cancel(
    visitors: Visitors, appointment_id: str, now: dt.datetime
) -> tuple[str, engagement.Appointment]:
    """Cancel a booked appointment that has not started: ``cancelled``, or
    ``already_cancelled`` for one cancelled before (a retry)."""
    found = visitors.visits.appointment(appointment_id)
    if found is None:
        raise NotFound(f"no appointment {appointment_id!r}")
    if found.status == engagement.CANCELLED:
        return ALREADY_CANCELLED, found
    if found.starts <= now:
        raise Conflict(f"appointment {appointment_id!r} has started", code="appointment_started")
    who = associate(visitors, found.associate_id)
    done = visitors.cancel(appointment_id, who.name if who is not None else found.associate_id)
    return (CANCELLED, done) if done is not None else (ALREADY_CANCELLED, found)


def appointment_id(customer: str, associate_id: str, starts: dt.datetime) -> str:
    named = f"{customer}\x1f{associate_id}\x1f{starts.isoformat()}"
    return "apt-" + hashlib.sha256(named.encode()).hexdigest()[:16]
