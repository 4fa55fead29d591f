"""The profile API (``Authorization: Bearer $JUNCTURE_ADMIN_TOKEN``): one person's profile,
look-up through the identity graph, their unified timeline and their identity graph, and
the export and erasure of all their data.

A profile id that was merged into another answers for the survivor and says so with
``redirectedFrom``; the timeline covers the events of every id merged into the profile.
RFM scores depend on the time: they are computed when asked, on the engine's clock.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from juncture.api import engine_status
from juncture.api.auth import admin_only
from juncture.api.errors import error_response, json_response
from juncture.api.params import BIGINT, AfterSeq, Derived, EventLimit
from juncture.core import events as core_events
from juncture.core import identity
from juncture.core.events import as_utc
from juncture.core.profile import orders
from juncture.errors import BadInput, NotFound
from juncture.runtime.clock import Clock
from juncture.runtime.erasure import Eraser
from juncture.runtime.standing import Standing
from juncture.store import export as store_export
from juncture.store.profiles import ProfileReads, StoredProfile
from juncture.store.sql import SqlStore


def router(
    reads: ProfileReads, admin_token: str | None, clock: Clock, engine: Standing | None
) -> APIRouter:
    api = APIRouter(dependencies=[admin_only(admin_token)], tags=["profiles"])

    async def live(profile_id: str) -> StoredProfile:
        found = await run_in_threadpool(reads.profile, profile_id)
        if found is None:
            raise NotFound(f"no profile {profile_id}", code="profile_not_found")
        return found

    @api.get("/v1/profiles")
    async def lookup(
        user_id: Annotated[str | None, Query(alias="userId")] = None,
        anonymous_id: Annotated[str | None, Query(alias="anonymousId")] = None,
        email: Annotated[str | None, Query()] = None,
        consistent: engine_status.Consistent = False,
    ) -> Response:
        """The profiles an identifier belongs to (one for user and anonymous ids; emails
        that do not link profiles may name several)."""
        given = [v for v in (user_id, anonymous_id, email) if v is not None]
        if len(given) != 1:
            raise BadInput(
                "give exactly one of `userId`, `anonymousId`, `email`", code="missing_parameter"
            )
        routing = [v for v in (user_id, anonymous_id) if v is not None]  # an email: all
        reached = await engine_status.catch_up(engine, consistent, routing)
        found = await run_in_threadpool(_lookup, reads, user_id, anonymous_id, email)
        if not found:
            missing = NotFound("no profile has this identifier", code="profile_not_found")
            return engine_status.marked(error_response(missing), reached)
        now = clock.now()
        answer = json_response({"profiles": [profile_json(p, now) for p in found]})
        return engine_status.marked(answer, reached)

    @api.get("/v1/profiles/{profile_id}")
    async def get_profile(
        profile_id: str, consistent: engine_status.Consistent = False
    ) -> Response:
        reached = await engine_status.catch_up(engine, consistent)
        try:
            answer = json_response(profile_json(await live(profile_id), clock.now()))
        except NotFound as missing:
            answer = error_response(missing)
        return engine_status.marked(answer, reached)

    @api.get("/v1/profiles/{profile_id}/events")
    async def timeline(
        profile_id: str,
        after: AfterSeq = 0,
        limit: EventLimit = 100,
        derived: Derived = None,
    ) -> Response:
        """Every event of the person (all merged ids), in log (``seq``) order; page on with
        ``after`` = the ``next`` of the previous page."""
        found = await live(profile_id)
        page = await run_in_threadpool(
            reads.events, found.ids, after_seq=after, limit=limit, derived=derived
        )
        body: dict[str, Any] = {
            **_redirect(found),
            "events": [core_events.to_json(e) for e in page],
            "next": page[-1].seq if len(page) == limit else None,
        }
        return json_response(body)

    @api.get("/v1/profiles/{profile_id}/identities")
    async def identities(profile_id: str) -> Response:
        found = await live(profile_id)
        return json_response(await run_in_threadpool(_graph_json, reads, found))

    return api


def privacy_router(store: SqlStore, eraser: Eraser, admin_token: str | None) -> APIRouter:
    """A person's data: all of it, and its erasure (README: Export and erasure)."""

    api = APIRouter(dependencies=[admin_only(admin_token)], tags=["profiles"])

    @api.get("/v1/profiles/{profile_id}/export")
    async def export(profile_id: str) -> Response:
        """Every row about the person, table by table (the rows erasure would delete)."""
        found = await run_in_threadpool(store_export.export, store, profile_id)
        if found is None:
            raise NotFound(f"no profile {profile_id}", code="profile_not_found")
        return json_response(found)

    @api.delete("/v1/profiles/{profile_id}")
    async def erase(
        profile_id: str,
        reference: Annotated[
            str | None,
            Query(max_length=200, description="The request's reference, kept in the record"),
        ] = None,
    ) -> Response:
        """Erase the person: this profile, every profile merged into it, and every row about
        them in every table, and record that (without naming them). Answers with what went."""
        erased = await run_in_threadpool(eraser.erase, profile_id, reference)
        if erased is None:
            raise NotFound(f"no profile {profile_id}", code="profile_not_found")
        return json_response(erased.to_json())

    @api.get("/v1/erasures")
    async def erasures(
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        before: Annotated[
            int | None, Query(ge=1, le=BIGINT, description="Only ids below this")
        ] = None,
    ) -> Response:
        """The erasures done, newest first: when, the reference, the counts."""
        found = await run_in_threadpool(store.erasures, limit, before)
        return json_response({"erasures": found})

    return api


def _lookup(
    reads: ProfileReads, user_id: str | None, anonymous_id: str | None, email: str | None
) -> list[StoredProfile]:
    if user_id is not None:
        found = reads.by_identifier(f"{identity.USER}:{user_id}")
        return [found] if found else []
    if anonymous_id is not None:
        found = reads.by_identifier(f"{identity.ANONYMOUS}:{anonymous_id}")
        return [found] if found else []
    address = identity.normalize_email(email)
    if address is None:
        raise BadInput("`email` is not an email address", code="invalid_parameter")
    linked = reads.by_identifier(f"{identity.EMAIL}:{address}")
    if linked is not None:
        return [linked]
    return reads.by_email_trait(address)


def _iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return as_utc(value).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _redirect(found: StoredProfile) -> dict[str, Any]:
    out: dict[str, Any] = {"profileId": found.profile_id}
    if found.requested != found.profile_id:
        out["redirectedFrom"] = found.requested
    return out


def profile_json(found: StoredProfile, now: dt.datetime) -> dict[str, Any]:
    """A profile: the figures people look for first (RFM scores as of ``now``), then the
    whole stored document."""
    p = found.profile
    cart = p.cart
    rfm = orders.rfm(p, now)
    return {
        **_redirect(found),
        "mergedIds": list(found.merged_ids),
        "userIds": list(found.node.user_ids) if found.node else [],
        "stage": found.stage,
        "updatedAt": _iso(found.updated_at),
        "firstSeen": _iso(p.first_seen),
        "lastSeen": _iso(p.last_seen),
        "traits": p.traits,
        "channels": sorted(p.channels),
        "lastChannel": p.last_channel,
        "devices": sorted(p.devices),
        "sessions": p.session_count,
        "cart": {
            "items": [
                {"productId": i.product_id, "quantity": i.quantity, "price": i.price}
                for i in cart.items.values()
            ],
            "quantity": cart.quantity,
            "value": cart.value,
            "currency": cart.currency,
            "updatedAt": _iso(cart.updated_at),
        },
        "orders": {
            "count": p.order_count,
            "revenue": p.revenue,
            "aov": p.aov,
            "lastOrderId": p.last_order_id,
            "lastOrderAt": _iso(p.last_order_at),
        },
        "rfm": {
            "recency": rfm.recency,
            "frequency": rfm.frequency,
            "monetary": rfm.monetary,
            "at": _iso(now),
        },
        "profile": p.to_json(),
    }


def _graph_json(reads: ProfileReads, found: StoredProfile) -> dict[str, Any]:
    ids = reads.identifiers(found.ids)
    keys = [i.identifier for i in ids]
    return {
        **_redirect(found),
        "mergedIds": list(found.merged_ids),
        "userIds": list(found.node.user_ids) if found.node else [],
        "identifiers": [
            {"kind": i.kind, "value": i.value, "attachedTo": i.attached_to} for i in ids
        ],
        "merges": [
            {
                "survivor": m.survivor,
                "merged": m.merged,
                "byMessageId": m.by_message_id,
                "at": _iso(m.at),
                "reason": m.reason,
            }
            for m in reads.merges(found.ids)
        ],
        "conflicts": [
            {
                "identifier": c.identifier,
                "profileId": c.profile_id,
                "other": c.other,
                "byMessageId": c.by_message_id,
                "at": _iso(c.at),
                "reason": c.reason,
            }
            for c in reads.conflicts(found.ids, keys)
        ],
    }
