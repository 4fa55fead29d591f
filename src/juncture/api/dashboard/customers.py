"""Customer 360: find a customer by any identifier, then everything Juncture knows of them on
one page: identities and merges, traits, consent per channel and purpose, stage, cart,
orders, lifetime value, segments, journeys and where they stand, and its stage with when it
entered each, and one timeline of their events, on-site impressions and messages
(suppressed ones with the reason), with the export of every row.

Reads go through the profile repository the profile API uses, and the dashboard's own for
messages, enrollments, segments and the newest events.
"""

from __future__ import annotations

from typing import Any, Final

from fastapi import APIRouter, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from juncture.api.dashboard import render
from juncture.api.dashboard.journeys import draft_text
from juncture.api.dashboard.sources import Sources
from juncture.api.profiles import profile_json
from juncture.core import events as core_events
from juncture.core import identity, placements, stage
from juncture.core.profile.reducer import DERIVED_SOURCE
from juncture.errors import NotFound
from juncture.store import export as store_export
from juncture.store.profiles import ProfileReads, StoredProfile

KINDS: Final = (identity.USER, identity.EMAIL, identity.ANONYMOUS, identity.PHONE, identity.DEVICE)
TIMELINE: Final = 100
STAGES: Final = 50  # the stage moves shown, newest first
_IMPRESSION: Final = ("position", "how", "url", "form_id", "score")
MAX_REFERENCE: Final = 4096


def find(reads: ProfileReads, query: str) -> list[StoredProfile]:
    """The live profiles ``query`` names: a profile id, or any identifier in the identity
    graph (user id, email, anonymous id, phone, device id), or an email trait."""
    query = query.strip()
    if not query:
        return []
    by_id = reads.profile(query)
    if by_id is not None:
        return [by_id]
    email = identity.normalize_email(query)
    for kind in KINDS:
        value = email if kind == identity.EMAIL and email else query
        found = reads.by_identifier(f"{kind}:{value}")
        if found is not None:
            return [found]
    return reads.by_email_trait(email) if email else []


def customer(sources: Sources, profile_id: str) -> dict[str, Any]:
    """Everything the Customer 360 page shows of one live profile."""
    reads, mine = sources.store.profiles, sources.store.dashboard
    found = reads.profile(profile_id)
    if found is None:
        raise NotFound(f"no profile {profile_id}", code="profile_not_found")
    ids, now = found.ids, sources.clock.now()
    body = profile_json(found, now)
    return {
        **body,
        "consent": _consent(found),
        "clv": found.profile.traits.get("clv"),
        "identifiers": [vars_of(i, "kind", "value", "attached_to") for i in reads.identifiers(ids)],
        "merges": [vars_of(m, "survivor", "merged", "at", "reason") for m in reads.merges(ids)],
        "segments": [{"id": s, "since": at} for s, at in mine.segments_of(ids)],
        "journeys": [vars_of(j, *_STANDING) for j in mine.enrollments_of(ids)],
        "timeline": timeline(sources, ids),
        "stages": stage_history(sources, found),
    }


def timeline(sources: Sources, ids: tuple[str, ...]) -> list[dict[str, Any]]:
    """Events, on-site impressions and messages together, newest first (at most
    :data:`TIMELINE` of each: impressions read apart, so that page views cannot crowd them
    out)."""
    mine = sources.store.dashboard
    events = mine.events_of(ids, TIMELINE)
    seen = {e.message_id for e in events}
    onsite = mine.events_of(ids, TIMELINE, tuple(placements.REPORTED))
    rows = [_event_row(e) for e in (*events, *(e for e in onsite if e.message_id not in seen))]
    for m in mine.messages_of(ids, TIMELINE):
        rows.append(
            {
                "at": m.created_at, "kind": "message", "name": f"{m.channel}: {m.template or '-'}",
                "source": m.journey_id or "-", "status": m.status, "reason": m.reason,
                "detail": f"node {m.node_id}" if m.node_id else "",
            }
        )  # fmt: skip
    return sorted(rows, key=lambda r: r["at"], reverse=True)


def _event_row(e: core_events.Event) -> dict[str, Any]:
    body = core_events.to_json(e)
    found = body.get("properties") or body.get("traits")
    props = found if isinstance(found, dict) else {}
    what = placements.REPORTED.get(e.event or "")
    if what and "promotion_id" in props:  # reported by the on-site script
        return {
            "at": e.timestamp, "kind": "on-site", "name": f"{props.get('creative') or '-'} {what}",
            "source": props.get("journey_id") or "-", "status": what, "reason": None,
            "detail": _properties({k: props[k] for k in _IMPRESSION if k in props}),
        }  # fmt: skip
    return {
        "at": e.timestamp, "kind": "signal" if e.source == DERIVED_SOURCE else "event",
        "name": e.event or e.type, "source": e.source, "detail": _properties(props),
    }  # fmt: skip


def stage_history(sources: Sources, found: StoredProfile) -> list[dict[str, Any]]:
    """Each stage the customer entered and when, newest first, from the engine's
    ``Journey Stage Changed`` signals (the first stage since the customer was first seen)."""
    changes = sources.store.dashboard.events_of(found.ids, STAGES, (stage.STAGE_CHANGED,))
    changes.sort(key=lambda e: (e.timestamp, e.seq), reverse=True)
    rows = [
        {"stage": e.properties.get("to"), "from": e.properties.get("from"), "at": e.timestamp}
        for e in changes
    ]
    if len(changes) < STAGES:  # the whole history: it starts where the oldest move left
        first = changes[-1].properties.get("from") if changes else found.stage
        rows.append({"stage": first, "from": None, "at": found.profile.first_seen})
    return rows


def vars_of(row: Any, *names: str) -> dict[str, Any]:
    return {name: getattr(row, name) for name in names}


_STANDING: Final = (
    "journey_id", "version", "status", "node", "exit_reason", "holdout", "entered_at",
    "goal_reached",
)  # fmt: skip


def _consent(found: StoredProfile) -> list[dict[str, Any]]:
    consent = found.profile.consent
    return [{"what": k, "granted": c.granted, "at": c.at} for k, c in sorted(consent.items())]


def _properties(found: Any, most: int = 4) -> str:
    if not isinstance(found, dict):
        return ""
    shown = [f"{k}: {v}" for k, v in found.items() if isinstance(v, str | int | float)]
    return ", ".join(shown[:most])


def router(sources: Sources) -> APIRouter:
    api = APIRouter(include_in_schema=False)

    @api.get("/app/customers")
    async def search(request: Request) -> Response:
        query = request.query_params.get("q", "")
        found = await run_in_threadpool(find, sources.store.profiles, query)
        if len(found) == 1:
            return RedirectResponse(f"/app/customers/{found[0].profile_id}", status_code=303)
        recent = await run_in_threadpool(sources.store.dashboard.recent_customers)
        matches = [{"profile_id": p.profile_id, "email": p.profile.traits.get("email"),
                    "stage": p.stage, "last_seen": p.profile.last_seen} for p in found]  # fmt: skip
        erased = request.query_params.get("erased")
        return render.page(
            request, "customers.html", q=query, matches=matches, recent=recent, erased=erased
        )

    @api.get("/app/customers/{profile_id}")
    async def one(request: Request, profile_id: str) -> Response:
        found = await run_in_threadpool(customer, sources, profile_id)
        return render.page(request, "customer.html", c=found)

    @api.post("/app/api/customers/{profile_id}/erase")
    async def erase(request: Request, profile_id: str) -> Response:
        if sources.eraser is None:
            raise NotFound("erasure is not offered here", code="erasure_unavailable")
        reference = (await draft_text(request, MAX_REFERENCE))[:200] or None
        erased = await run_in_threadpool(sources.eraser.erase, profile_id, reference)
        if erased is None:
            raise NotFound(f"no profile {profile_id}", code="profile_not_found")
        return render.data(erased.to_json())

    @api.get("/app/api/customers/{profile_id}/export")
    async def export(profile_id: str) -> Response:
        found = await run_in_threadpool(store_export.export, sources.store, profile_id)
        if found is None:
            raise NotFound(f"no profile {profile_id}", code="profile_not_found")
        answer = render.data(found)
        answer.headers["Content-Disposition"] = f'attachment; filename="{profile_id}.json"'
        return answer

    return api
