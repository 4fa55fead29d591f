"""The routes about messages beyond sending them: what recipients answer (one-click
unsubscribe, providers' inbound webhooks) and the retailer's own templates."""

from __future__ import annotations

from fastapi import FastAPI

from juncture.api import inbound, unsubscribe
from juncture.api import templates as retailer_templates
from juncture.channels.links import Links
from juncture.channels.templates import Templates
from juncture.runtime.feedback import FeedbackRecorder
from juncture.runtime.ingest import Ingestor
from juncture.store.recipients import Recipients
from juncture.store.sql import SqlStore


def install(
    app: FastAPI,
    store: SqlStore,
    ingestor: Ingestor,
    *,
    links: Links | None,
    inbound_token: str | None,
    templates: Templates | None,
    admin_token: str | None,
    body_timeout: float,
) -> None:
    """Add the routes: unsubscribe (recipients, no login), inbound webhooks (the inbound
    token), templates (the admin token)."""
    feedback = FeedbackRecorder(Recipients(store.engine), ingestor, ingestor.clock)
    app.include_router(unsubscribe.router(links, feedback))
    app.include_router(inbound.router(inbound_token, feedback, body_timeout))
    app.include_router(retailer_templates.router(templates or Templates(), admin_token))
