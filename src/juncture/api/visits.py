"""Store events, expert appointments and associate training over HTTP (``Authorization:
Bearer $JUNCTURE_ADMIN_TOKEN``: the retailer's site, app or till calls them for a shopper).

Registering and attending tell ``Store Event Registered`` and ``Store Event Attended``,
booking tells ``Appointment Booked``, as the shopper's events (journeys confirm, remind and
follow up); cancelling tells ``Appointment Cancelled``. Times of day (hours, slots) are on
the store's clock (its location's ``time_zone``). Training reads the demand the event log
shows by store and product line against the associates who know each line."""

from __future__ import annotations

import datetime as dt
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
from juncture.core import bounds, engagement
from juncture.errors import BadInput, Conflict, NotFound
from juncture.runtime import appointments
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
        made, name, done = await run_in_threadpool(
            lambda: appointments.book(
                visitors, body.customer_id, body.associate_id, body.starts_at,
                product_id=body.product_id, now=clock.now(),
            )
        )  # fmt: skip
        status = 201 if done == stored.BOOKED else 200
        return json_response({**_appointment(visitors, made), "associateName": name,
                              "status": done}, status)  # fmt: skip

    @api.delete("/v1/appointments/{appointment_id}")
    async def cancel(appointment_id: Key) -> Response:
        done, found = await run_in_threadpool(
            appointments.cancel, visitors, appointment_id, clock.now()
        )
        return json_response({**_appointment(visitors, found), "status": done})

    @api.get("/v1/training")
    async def needs(store: Text = None, days: Annotated[int, Query(ge=1, le=365)] = 30) -> Response:
        now = clock.now()
        found = await run_in_threadpool(visitors.training, now, dt.timedelta(days=days))
        lines = [x for x in found if store is None or x["storeCode"] == store]
        return json_response({"days": days, "lines": lines})

    return api


def _appointment(visitors: Visitors, a: engagement.Appointment) -> dict[str, Any]:
    """An appointment as JSON, its start on the store's clock."""
    return {**plain(a), "starts": visitors.local(a.store_code, a.starts).isoformat()}


def _slots(
    visitors: Visitors, store: str, product_id: str | None, day: dt.date, now: dt.datetime
) -> list[dict[str, Any]]:
    """The free slots on ``day`` (the store's day) of each associate at ``store`` (who knows
    the product's line, when one is given), as times on the store's clock."""
    product = visitors.catalog.product(product_id) if product_id else None
    if product_id and product is None:
        raise NotFound(f"no product {product_id!r}", where="product_id")
    out = []
    for a in appointments.experts(visitors, store, product, day):
        free = appointments.free(visitors, a, day, now)
        out.append({"id": a.associate_id, "name": a.name, "skills": list(a.skills),
                    "slots": [s.isoformat() for s in free]})  # fmt: skip
    return out
