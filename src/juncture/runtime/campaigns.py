"""One-off campaigns: a message to everyone in a segment now (a newsletter, a sale).

A campaign is a journey (``campaign_<id>``) of one send node, entered once per customer by
a ``Campaign Started`` event (``campaign_id``) that the launch gives each member of the
segment, through the same ingestion as every other event (source ``campaigns``). So a
campaign gets what every journey gets: consent, the frequency caps, quiet hours, its send
window, its holdout, priority against other journeys, the ``data`` of its send node, and
its results (``GET /v1/journeys/campaign_<id>/stats``, ``GET /v1/messages/engagement``).
Each event's messageId names the campaign and the profile, so launching twice sends once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from typing import Any, Final

from juncture.runtime import feedback
from juncture.runtime.clock import Clock
from juncture.runtime.ingest import Ingestor
from juncture.runtime.segments import Segments
from juncture.store.engagement import COUNTS
from juncture.store.journeys import JourneyStore
from juncture.store.recipients import Recipients

SOURCE: Final = "campaigns"
EVENT: Final = "Campaign Started"
PAGE: Final = 500  # members read, and events committed, at a time


@dataclass(frozen=True, slots=True)
class Campaign:
    """What to send to whom: ``message`` is the send node's fields (``channel``,
    ``template`` or ``inline``, ``purpose``, ``data``)."""

    id: str
    name: str
    segment: str
    message: dict[str, Any]
    holdout: float = 0.0
    priority: int = 0
    send_window: dict[str, Any] | None = None

    @property
    def journey_id(self) -> str:
        return f"campaign_{self.id}"

    def definition(self) -> str:
        """The campaign's journey, as the text ``POST /v1/journeys`` would take."""
        where = f"event.properties.campaign_id == {json.dumps(self.id)}"
        body: dict[str, Any] = {
            "id": self.journey_id,
            "version": 1,
            "name": self.name,
            "priority": self.priority,
            "holdout": self.holdout,
            "entry": {"reentry": "never"},
            "nodes": [
                {"id": "start", "type": "trigger", "event": EVENT, "where": where,
                 "next": "message"},
                {**self.message, "id": "message", "type": "send", "next": "done"},
                {"id": "done", "type": "exit"},
            ],
        }  # fmt: skip
        if self.send_window is not None:
            body["send_window"] = self.send_window
        return json.dumps(body, indent=2)


class Campaigns:
    def __init__(
        self,
        journeys: JourneyStore,
        segments: Segments,
        recipients: Recipients,
        ingestor: Ingestor,
        clock: Clock,
        *,
        templates: Callable[[], Collection[str]] | None = None,
    ) -> None:
        self.journeys = journeys
        self.templates = templates  # the names that exist: a campaign naming another is 422
        self.segments = segments
        self.recipients = recipients
        self.ingestor = ingestor
        self.clock = clock

    def preview(self, segment: str, channel: str) -> dict[str, Any]:
        """The audience now, and how many of it granted, refused or never stated marketing
        consent on ``channel`` (opt-in channels reach only those who granted it)."""
        members = list(self._members(segment))
        counts = self.recipients.consent_counts(members, channel)
        return {"segment": segment, "channel": channel, "audience": len(members), **counts}

    def launch(self, campaign: Campaign) -> dict[str, Any]:
        """Store the campaign's journey (invalid: raises, nothing sent) and start it for
        every member of the segment now."""
        names = None if self.templates is None else self.templates()
        applied = self.journeys.apply(campaign.definition(), f"{campaign.journey_id}.json", names)
        audience = started = 0
        page: list[str] = []
        for pid in self._members(campaign.segment):
            page.append(pid)
            if len(page) == PAGE:
                started += self._start(campaign, page)
                audience, page = audience + len(page), []
        if page:
            started += self._start(campaign, page)
            audience += len(page)
        return {"journeyId": applied.journey_id, "version": applied.version,
                "audience": audience, "started": started}  # fmt: skip

    def results(self, campaign_id: str) -> dict[str, Any]:
        """What campaign ``campaign_id`` did: who it started (``entered``), its messages by
        status, what was suppressed and why, the orders it led to within its goal
        (``goalReached``, against its holdout), and its email engagement (opened, clicked,
        unsubscribed, with rates). Raises NotFound for a campaign never launched."""
        journey_id = f"campaign_{campaign_id}"
        stats = self.journeys.stats(journey_id).to_json()
        rows = self.recipients.engagement_by_variant(journey_id, ())
        totals = {name: sum(r[name] for r in rows) for name in ("sent", *COUNTS)}
        rates = {f"{n}Rate": round(totals[n] / totals["sent"], 4) if totals["sent"] else None
                 for n in COUNTS}  # fmt: skip
        return {"campaign": campaign_id, "journeyId": journey_id, **stats,
                "engagement": {**totals, **rates}}  # fmt: skip

    def _members(self, segment: str) -> Iterator[str]:
        now, after = self.clock.now(), ""
        while page := self.segments.members(segment, now, after=after, limit=PAGE):
            yield from page
            after = page[-1]

    def _start(self, campaign: Campaign, profile_ids: list[str]) -> int:
        """A ``Campaign Started`` event for each profile; how many were new."""
        at = self.clock.now().isoformat()
        found = self.recipients.identifiers(profile_ids)
        props = {"campaign_id": campaign.id, "campaign_name": campaign.name}
        events = [
            feedback.track(identifier, EVENT, f"campaign:{campaign.id}:{pid}", at, props)
            for pid, identifier in sorted(found.items())
        ]
        if not events:
            return 0
        return self.ingestor.ingest_sync(feedback.envelope(events), SOURCE).receipt.stored
