"""What a channel sends for an outbox row: the row's template rendered with its context (the
payload's profile, event, cart, journey and data; the recipient's recommendations and, with
lookups, segments and products read as the message leaves), the one-click unsubscribe
headers and link of a marketing email, and its tracked links and open pixel."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from juncture.channels import email_html
from juncture.channels.base import Content, OutboundMessage
from juncture.channels.links import Links, tracked, with_way_out
from juncture.channels.templates import Templates
from juncture.core.channels import DATA
from juncture.store.outbox import OutboxRow

CONTEXT_KEYS = ("profile", "event", "cart", "recommendations", "journey", "data")


@dataclass(frozen=True, slots=True)
class Composer:
    """Renders rows into messages. ``links``: the server's public URL and links secret
    (unsubscribe, tracking); ``tracking``: ``clicks``, ``opens`` in email, with links;
    ``shelf``: a profile's recommendations, read if a template lists them; ``lookups``: a
    profile's segments and the catalogue, read if a template does."""

    templates: Templates
    links: Links | None = None
    tracking: frozenset[str] = frozenset()
    shelf: Callable[[str], list[Any]] | None = None
    lookups: Callable[[str], Mapping[str, Any]] | None = None

    def message(self, row: OutboxRow) -> OutboundMessage:
        """The message for a row, its template rendered (raises
        :class:`~juncture.channels.templates.TemplateError`)."""
        payload = row.payload
        inline = payload.get("inline")
        content: Content | None = None
        headers: dict[str, str] = {}
        if self.links is not None and row.channel == "email" and row.purpose == "marketing":
            headers = self.links.unsubscribe_headers(row.id)
        if row.template or inline or row.channel not in DATA:  # data channels send no template
            context: dict[str, Any] = {k: payload[k] for k in CONTEXT_KEYS if k in payload}
            context.setdefault("journey", _journey(row))
            if self.shelf is not None and not payload.get("recommendations"):
                context["recommendations"] = self.shelf(row.profile_id)
            if self.lookups is not None:
                context.update(self.lookups(row.profile_id))
            if self.links is not None and headers:
                context["unsubscribe_url"] = self.links.unsubscribe(row.id)
                context["preferences_url"] = self.links.preferences(row.id)
            content = self.templates.render(
                row.template, context, inline=inline if isinstance(inline, dict) else None
            )
            if row.channel == "email" and content.html and not content.text.strip():
                content = dataclasses.replace(content, text=email_html.text_of(content.html))
            if "unsubscribe_url" in context:  # in the body too, whatever the template shows
                content = with_way_out(content, context["unsubscribe_url"])
            if self.links is not None and self.tracking and row.channel == "email":
                content = dataclasses.replace(content, html=self._tracked(row.id, content.html))
        return OutboundMessage(
            outbox_id=row.id,
            idempotency_key=row.idempotency_key,
            channel=row.channel,
            purpose=row.purpose,
            template=row.template,
            payload=payload,
            content=content,
            headers=headers,
        )

    def _tracked(self, delivery: int, html: str) -> str:
        if self.links is None:
            return html
        clicks, opens = "clicks" in self.tracking, "opens" in self.tracking
        return tracked(self.links, delivery, html, clicks=clicks, opens=opens)


def _journey(row: OutboxRow) -> dict[str, Any]:
    return {"id": row.journey_id, "version": row.journey_version, "node": row.node_id}
