"""Store events, expert appointments and associate training over HTTP (``Authorization:
Bearer $JUNCTURE_ADMIN_TOKEN``: the retailer's site, app or till calls them for a shopper).

Registering and attending tell ``Store Event Registered`` and ``Store Event Attended``,
booking tells ``Appointment Booked``, as the shopper's events (journeys confirm, remind and
follow up); cancelling tells ``Appointment Cancelled``. Times of day (hours, slots) are on
the store's clock (its location's ``time_zone``). Training reads the demand the event log
shows by store and product line against the associates who know each line."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from juncture.api.auth import admin_only
from juncture.api.errors import json_response
from juncture.api.params import At, moment
from juncture.api.programmes import plain
from juncture.api.shoppers import Key
from juncture.core import bounds, comparisons, engagement, offers, retail, training
from juncture.errors import BadInput, Conflict, NotFound
from juncture.runtime.catalog_visits import Visitors
from juncture.runtime.clock import Clock
from juncture.store import programme_visits as stored

Text = Annotated[str | None, Query(max_length=200)]


class Customer(BaseModel):
    customer_id: str = Field(alias="customerId", min_length=1, max_length=200)


class Booking(BaseModel):
    customer_id: str = Field(alias="customerId", min_length=1, max_length=200)
    associate_id: str = Field(alias="associateId", min_length=1, max_length=200)
    starts_at: dt.datetime = Field(alias="startsAt")
    product_id: str | None = Field(default=None, alias="productId", min_length=1, max_length=200)


def router(visitors: Visitors, admin_token: str | None, clock: Clock) -> APIRouter:
    api = APIRouter(dependencies=[admin_only(admin_token)], tags=["catalog"])
    programmes = visitors.programmes

    async def event_of(event_id: Key) -> engagement.StoreEvent:
        found = await run_in_threadpool(visitors.event, event_id)
        if found is None:
            raise NotFound(f"no store event {event_id!r}")
        return found

    @api.get("/v1/store-events")
    async def store_events(at: At = None) -> Response:
        now = moment(at) if at is not None else clock.now()
        found = await run_in_threadpool(programmes.store_events, now)
        return json_response({"events": [plain(e) for e in found]})

    @api.post("/v1/store-events/{event_id}/registrations")
    async def register(event_id: Key, body: Customer) -> Response:
        e = await event_of(event_id)
        if e.over(clock.now()):
            raise Conflict(f"store event {event_id!r} is over", code="event_over")
        done = await run_in_threadpool(visitors.register, e, body.customer_id)
        if done == stored.FULL:
            raise Conflict(f"store event {event_id!r} is full", code="event_full")
        status = 201 if done == stored.REGISTERED else 200
        return json_response({"eventId": event_id, "status": done}, status)

    @api.post("/v1/store-events/{event_id}/attendance")
    async def attend(event_id: Key, body: Customer) -> Response:
        e = await event_of(event_id)
        if not await run_in_threadpool(visitors.attend, e, body.customer_id):
            raise NotFound(f"{body.customer_id!r} is not registered for {event_id!r}")
        return json_response({"eventId": event_id, "status": "attended"})

    api.include_router(_people(visitors, clock))
    return api


def _people(visitors: Visitors, clock: Clock) -> APIRouter:
    """Appointments with associates, and where they need training."""
    api = APIRouter()

    @api.get("/v1/appointments/slots")
    async def slots(store: str, product_id: Text = None, date: dt.date | None = None) -> Response:
        now = clock.now()
        local = await run_in_threadpool(visitors.local, store, now)
        day = date or local.date()  # the store's day
        if not bounds.within_time(dt.datetime.combine(day, dt.time(), dt.UTC)):
            raise BadInput(f"date: give a day in {bounds.time_range()}", where="query.date")
        found = await run_in_threadpool(_slots, visitors, store, product_id, day, now)
        zone = str(local.tzinfo)
        body = {"storeCode": store, "date": day.isoformat(), "timeZone": zone, "associates": found}
        return json_response(body)

    @api.post("/v1/appointments")
    async def book(body: Booking) -> Response:
        if body.starts_at.tzinfo is None:
            raise BadInput("startsAt: give a time zone", where="startsAt")
        if not bounds.within_time(body.starts_at):
            raise BadInput(f"startsAt: give a time in {bounds.time_range()}", where="startsAt")
        made, name, done = await run_in_threadpool(_book, visitors, body, clock.now())
        status = 201 if done == stored.BOOKED else 200
        return json_response({**_appointment(visitors, made), "associateName": name,
                              "status": done}, status)  # fmt: skip

    @api.delete("/v1/appointments/{appointment_id}")
    async def cancel(appointment_id: Key) -> Response:
        done, found = await run_in_threadpool(_cancel, visitors, appointment_id, clock.now())
        return json_response({**_appointment(visitors, found), "status": done})

    @api.get("/v1/training")
    async def needs(store: Text = None, days: Annotated[int, Query(ge=1, le=365)] = 30) -> Response:
        now = clock.now()
        found = await run_in_threadpool(_training, visitors, now, dt.timedelta(days=days))
        lines = [x for x in found if store is None or x["storeCode"] == store]
        return json_response({"days": days, "lines": lines})

    return api


def _book(
    visitors: Visitors, body: Booking, now: dt.datetime
) -> tuple[engagement.Appointment, str, str]:
    """Book a free slot of the associate (a retry of the same booking answers it again)."""
    starts = body.starts_at.astimezone(dt.UTC)
    who = _associate(visitors, body.associate_id)
    if who is None:
        raise NotFound(f"no associate {body.associate_id!r}", where="associateId")
    made = engagement.Appointment(
        _appointment_id(body.customer_id, who.associate_id, starts), who.associate_id,
        who.store_code, starts, body.customer_id, body.product_id, created_at=now,
    )  # fmt: skip
    mine = visitors.visits.appointments(customer_id=body.customer_id)
    if any(a.appointment_id == made.appointment_id for a in mine):
        return made, who.name, "already_booked"
    local = visitors.local(who.store_code, starts)
    zone = local.tzinfo or dt.UTC
    taken = _taken(visitors, who.associate_id, local.date(), zone)
    hours = who.schedule.get(retail.WEEKDAYS[local.weekday()])
    free = {
        s.astimezone(dt.UTC) for s in engagement.free_slots(hours, local.date(), taken, now, zone)
    }
    if starts not in free or visitors.book(made, who.name) == stored.TAKEN:
        raise Conflict(f"{who.name} has no free slot at {local.isoformat()}", code="slot_taken")
    return made, who.name, stored.BOOKED


def _cancel(
    visitors: Visitors, appointment_id: str, now: dt.datetime
) -> tuple[str, engagement.Appointment]:
    """Cancel a booked appointment that has not started: ``cancelled``, or
    ``already_cancelled`` for one cancelled before (a retry)."""
    found = visitors.visits.appointment(appointment_id)
    if found is None:
        raise NotFound(f"no appointment {appointment_id!r}")
    if found.status == engagement.CANCELLED:
        return "already_cancelled", found
    if found.starts <= now:
        raise Conflict(f"appointment {appointment_id!r} has started", code="appointment_started")
    who = _associate(visitors, found.associate_id)
    done = visitors.cancel(appointment_id, who.name if who is not None else found.associate_id)
    return ("cancelled", done) if done is not None else ("already_cancelled", found)


def _associate(visitors: Visitors, associate_id: str) -> offers.Associate | None:
    people = visitors.programmes.associates()
    return next((a for a in people if a.associate_id == associate_id), None)


def _appointment(visitors: Visitors, a: engagement.Appointment) -> dict[str, Any]:
    """An appointment as JSON, its start on the store's clock."""
    return {**plain(a), "starts": visitors.local(a.store_code, a.starts).isoformat()}


def _taken(
    visitors: Visitors, associate_id: str, day: dt.date, zone: dt.tzinfo
) -> list[dt.datetime]:
    """The starts booked with the associate on ``day`` (the store's day, in ``zone``)."""
    between = engagement.local_day(day, zone)
    found = visitors.visits.appointments(associate_ids=[associate_id], between=between)
    return [a.starts for a in found]


def _slots(
    visitors: Visitors, store: str, product_id: str | None, day: dt.date, now: dt.datetime
) -> list[dict[str, Any]]:
    """The free slots on ``day`` (the store's day) of each associate at ``store`` (who knows
    the product's line, when one is given), as times on the store's clock."""
    people = visitors.programmes.associates(store)
    product = visitors.catalog.product(product_id) if product_id else None
    if product_id and product is None:
        raise NotFound(f"no product {product_id!r}", where="product_id")
    if product is not None:
        people = comparisons.experts(people, product, retail.WEEKDAYS[day.weekday()])
    zone = retail.zone_of(visitors.catalog.location(store))
    out = []
    for a in people:
        hours = a.schedule.get(retail.WEEKDAYS[day.weekday()])
        taken = _taken(visitors, a.associate_id, day, zone)
        free = engagement.free_slots(hours, day, taken, now, zone)
        out.append({"id": a.associate_id, "name": a.name, "skills": list(a.skills),
                    "slots": [s.isoformat() for s in free]})  # fmt: skip
    return out


def _training(visitors: Visitors, now: dt.datetime, window: dt.timedelta) -> list[dict[str, Any]]:
    rows = visitors.visits.demand(list(training.KINDS), now - window)
    products = visitors.catalog.products(sorted({pid for _, pid, _ in rows}))
    launches = visitors.catalog.launches(now - window, now + window)
    stores = [x.store_code for x in visitors.catalog.locations("store")]
    lines = training.demand(rows, products, launches, stores)
    known = products | {p.id: p for p in launches}
    return training.report(lines, known, visitors.programmes.associates(), now)


def _appointment_id(customer: str, associate: str, starts: dt.datetime) -> str:
    named = f"{customer}\x1f{associate}\x1f{starts.isoformat()}"
    return "apt-" + hashlib.sha256(named.encode()).hexdigest()[:16]
