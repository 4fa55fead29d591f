"""The routes about messages beyond sending them: what recipients do (one-click
unsubscribe, the preference page, tracked clicks and opens), providers' inbound webhooks,
and the retailer's own templates."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from juncture.api import campaigns as campaign_routes
from juncture.api import inbound, links, preferences, unsubscribe
from juncture.api import templates as retailer_templates
from juncture.api.auth import WriteKeys, admin_only, basic_user
from juncture.api.errors import json_response
from juncture.channels.links import Links
from juncture.channels.templates import Templates
from juncture.core.journeys.spec import Split
from juncture.errors import NotFound
from juncture.runtime.campaigns import Campaigns
from juncture.runtime.feedback import FeedbackRecorder
from juncture.runtime.ingest import Ingestor
from juncture.runtime.preferences import Preferences
from juncture.runtime.standing import Standing
from juncture.store.journeys import JourneyStore
from juncture.store.recipients import RATES, Recipients
from juncture.store.sql import SqlStore


def install(
    app: FastAPI,
    store: SqlStore,
    ingestor: Ingestor,
    *,
    signed: Links | None,
    inbound_token: str | None,
    templates: Templates | None,
    admin_token: str | None,
    body_timeout: float,
    journeys: JourneyStore,
    campaigns: Campaigns,
    sending: Sequence[str] = (),
    keys: WriteKeys | None = None,
    engine_behind: Standing | None = None,
) -> None:
    """Add the routes: unsubscribe, tracked links and opens (recipients, no login; the links
    are ``signed``), inbound webhooks (the inbound token), templates, engagement and
    campaigns (the admin token)."""
    feedback = FeedbackRecorder(Recipients(store.engine), ingestor, ingestor.clock)
    app.include_router(unsubscribe.router(signed, feedback))
    choices = Preferences(Recipients(store.engine), store.profiles, feedback, engine_behind)
    app.include_router(preferences.router(signed, choices))
    app.include_router(links.router(signed, feedback))
    app.include_router(inbound.router(inbound_token, feedback, body_timeout))
    templates = templates or Templates()
    app.include_router(retailer_templates.router(templates, admin_token))
    app.include_router(engagement_router(Recipients(store.engine), journeys, admin_token))
    if keys is not None:
        app.include_router(sending_router(sending, keys))
    app.include_router(campaign_routes.router(campaigns, admin_token))


def sending_router(sending: Sequence[str], keys: WriteKeys) -> APIRouter:
    """``GET /v1/sending`` (a write key, as the tracking API takes it): the channels that
    reach people and really send here (configured, not only recorded), so that a load
    generator or simulator can refuse to make this server write to real customers."""
    api = APIRouter(tags=["messages"])
    answer = {"channels": list(sending)}

    @api.get("/v1/sending")
    async def channels(request: Request) -> Response:
        await run_in_threadpool(keys.source, basic_user(request))
        return json_response(answer)

    return api


def engagement_router(
    recipients: Recipients, journeys: JourneyStore, admin_token: str | None
) -> APIRouter:
    """``GET /v1/messages/engagement?journeyId=``: per journey and send node, emails sent,
    and the share of them opened, clicked, unsubscribed from, bounced and complained of.
    With ``journeyId``, per send node and variant (the split branches taken), with the
    opens and clicks that trackers reported too."""
    api = APIRouter(tags=["messages"], dependencies=[admin_only(admin_token)])

    def of_journey(journey_id: str) -> list[dict[str, Any]]:
        try:
            nodes = list(journeys.show(journey_id).spec.nodes.values())
        except NotFound:  # not stored here (a static catalog): no split is known
            nodes = []
        splits = {n.id for n in nodes if isinstance(n, Split)}
        return recipients.engagement_by_variant(journey_id, splits)

    @api.get("/v1/messages/engagement")
    async def engagement(
        journey_id: Annotated[str | None, Query(alias="journeyId", max_length=100)] = None,
    ) -> Response:
        if journey_id is None:
            rows = await run_in_threadpool(recipients.engagement, None)
        else:
            rows = await run_in_threadpool(of_journey, journey_id)
        return json_response({"engagement": [_rates(row) for row in rows]})

    return api


def _rates(row: dict[str, Any]) -> dict[str, Any]:
    sent = row["sent"]
    counts = {name: row[name] for name in RATES}
    rates = {f"{name}Rate": round(n / sent, 4) if sent else None for name, n in counts.items()}
    variant = {"variant": row["variant"]} if "variant" in row else {}
    return {"journeyId": row["journey_id"], "nodeId": row["node_id"], **variant,
            "sent": sent, **counts, **rates}  # fmt: skip
