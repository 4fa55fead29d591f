"""Shoppers' visits as a repository: registrations for store events and their attendance
(``event_registrations``), expert appointments (``appointments``), and the demand the event
log shows by store and product (for associate training)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any, Final

import orjson
import sqlalchemy as sa

from juncture.core import engagement
from juncture.core.events import as_utc
from juncture.core.profile.reducer import DERIVED_SOURCE
from juncture.store import programme_tables as t
from juncture.store import tables
from juncture.store.catalog import Repository

REGISTERED, ALREADY, FULL = "registered", "already_registered", "full"
BOOKED, TAKEN = "booked", "taken"
R, A = t.event_registrations, t.appointments
DEMAND_MOST: Final = 200_000  # events a demand report reads, at most


class Visits(Repository):
    """Registrations, attendance and appointments of one store's engine. Every method is
    one transaction."""

    def register(
        self, event_id: str, customer_id: str, capacity: int | None, at: dt.datetime
    ) -> str:
        """Register a shopper: ``registered``, ``already_registered`` or ``full`` (the
        count and the insert are one statement, as for coupon redemptions)."""
        with self._begin("register for an event") as conn:
            if conn.dialect.name == "postgresql":  # concurrent registrations queue here
                e = t.store_events
                conn.execute(
                    sa.select(e.c.event_id).where(e.c.event_id == event_id).with_for_update()
                )
            mine = sa.and_(R.c.event_id == event_id, R.c.customer_id == customer_id)
            if conn.execute(sa.select(sa.func.count()).where(mine)).scalar_one():
                return ALREADY
            taken = sa.select(sa.func.count()).where(R.c.event_id == event_id).scalar_subquery()
            values = sa.select(
                sa.literal(event_id), sa.literal(customer_id),
                sa.literal(at, sa.DateTime(timezone=True)),
            )  # fmt: skip
            if capacity is not None:
                values = values.where(taken < capacity)
            insert = R.insert().from_select(["event_id", "customer_id", "registered_at"], values)
            if not conn.execute(insert.returning(R.c.event_id)).all():
                return FULL
        return REGISTERED

    def attend(self, event_id: str, customer_id: str, at: dt.datetime) -> bool:
        """Record that a registered shopper came (the first time counts); False when they
        were not registered."""
        mine = sa.and_(R.c.event_id == event_id, R.c.customer_id == customer_id)
        with self._begin("record attendance") as conn:
            found = conn.execute(sa.select(R.c.attended_at).where(mine)).one_or_none()
            if found is None:
                return False
            if found[0] is None:
                conn.execute(R.update().where(mine).values(attended_at=at))
        return True

    def registrations(
        self, customer_id: str | None = None, event_id: str | None = None
    ) -> list[engagement.Registration]:
        query = sa.select(R).order_by(R.c.registered_at, R.c.event_id, R.c.customer_id)
        if customer_id is not None:
            query = query.where(R.c.customer_id == customer_id)
        if event_id is not None:
            query = query.where(R.c.event_id == event_id)
        with self._begin("read registrations") as conn:
            return [_registration(r._mapping) for r in conn.execute(query)]

    def book(self, found: engagement.Appointment) -> str:
        """Book a slot: ``booked``, or ``taken`` when the associate's slot is booked."""
        row = {
            "appointment_id": found.appointment_id, "associate_id": found.associate_id,
            "store_code": found.store_code, "starts": found.starts,
            "customer_id": found.customer_id, "product_id": found.product_id,
            "status": found.status, "created_at": found.created_at,
        }  # fmt: skip
        gone = sa.and_(
            A.c.status == engagement.CANCELLED,
            sa.or_(
                A.c.appointment_id == found.appointment_id,
                sa.and_(A.c.associate_id == found.associate_id, A.c.starts == found.starts),
            ),
        )
        try:
            with self._begin("book an appointment") as conn:
                conn.execute(A.delete().where(gone))  # a cancelled booking frees its slot
                conn.execute(A.insert(), [row])
        except sa.exc.IntegrityError:
            return TAKEN
        return BOOKED

    def cancel(self, appointment_id: str) -> engagement.Appointment | None:
        """Cancel a booked appointment: it as it was, or None when there was none booked
        under that id (unknown, or cancelled already)."""
        booked = sa.and_(A.c.appointment_id == appointment_id, A.c.status == engagement.BOOKED)
        change = A.update().where(booked).values(status=engagement.CANCELLED).returning(A)
        with self._begin("cancel an appointment") as conn:
            found = conn.execute(change).one_or_none()  # one statement: cancelled once
        return None if found is None else _appointment(found._mapping)

    def appointment(self, appointment_id: str) -> engagement.Appointment | None:
        """One appointment, booked or cancelled."""
        query = sa.select(A).where(A.c.appointment_id == appointment_id)
        with self._begin("read an appointment") as conn:
            found = conn.execute(query).one_or_none()
        return None if found is None else _appointment(found._mapping)

    def appointments(
        self,
        *,
        associate_ids: Sequence[str] | None = None,
        customer_id: str | None = None,
        between: tuple[dt.datetime, dt.datetime] | None = None,
    ) -> list[engagement.Appointment]:
        """Booked appointments, soonest first."""
        query = sa.select(A).where(A.c.status == engagement.BOOKED).order_by(A.c.starts)
        if associate_ids is not None:
            query = query.where(A.c.associate_id.in_(list(associate_ids)))
        if customer_id is not None:
            query = query.where(A.c.customer_id == customer_id)
        if between is not None:
            query = query.where(A.c.starts >= between[0], A.c.starts < between[1])
        with self._begin("read appointments") as conn:
            return [_appointment(r._mapping) for r in conn.execute(query)]

    def demand(self, names: Sequence[str], since: dt.datetime) -> list[tuple[str, str, str]]:
        """``(event name, product id, store code)`` of each client event named ``names``
        since ``since`` whose properties give both a product and a store (at most
        :data:`DEMAND_MOST`, the latest)."""
        e = tables.events
        query = (
            sa.select(e.c.event, e.c.body)
            .where(e.c.event.in_(list(names)), e.c.timestamp >= since)
            .where(e.c.source != DERIVED_SOURCE)
            .order_by(e.c.seq.desc())
            .limit(DEMAND_MOST)
        )
        found = []
        with self._begin("read demand") as conn:
            for name, body in conn.execute(query):
                props = orjson.loads(body).get("properties") or {}
                pid, store = props.get("product_id"), props.get("store_code")
                if isinstance(pid, str) and isinstance(store, str):
                    found.append((str(name), pid, store))
        return found


def _registration(m: Any) -> engagement.Registration:
    attended = m["attended_at"]
    return engagement.Registration(
        m["event_id"],
        m["customer_id"],
        as_utc(m["registered_at"]),
        as_utc(attended) if attended is not None else None,
    )


def _appointment(m: Any) -> engagement.Appointment:
    return engagement.Appointment(
        m["appointment_id"], m["associate_id"], m["store_code"], as_utc(m["starts"]),
        m["customer_id"], m["product_id"], m["status"], as_utc(m["created_at"]),
    )  # fmt: skip
