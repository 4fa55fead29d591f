"""One-off campaigns: a message to everyone in a segment now (a newsletter, a sale).

A campaign is a journey (``campaign_<id>``) of one send node, entered once per customer by
a ``Campaign Started`` event (``campaign_id``) that the launch gives each member of the
segment, through the same ingestion as every other event (source ``campaigns``). So a
campaign gets what every journey gets: consent, the frequency caps, quiet hours, its send
window, its holdout, priority against other journeys, the ``data`` of its send node, and
its results (``GET /v1/journeys/campaign_<id>/stats``, ``GET /v1/messages/engagement``).
Each event's messageId names the campaign and the profile, so launching twice sends once.

A campaign with a ``send_at`` still to come, or a ``per_minute`` throttle, is stored
(:mod:`juncture.store.campaign_runs`) with its journey applied (so a bad message is refused
at once) and no member started: :class:`CampaignJob` in ``juncture serve`` starts it when
its time comes, at most ``per_minute`` members for each minute begun since ``send_at``,
reading the segment's members then, in profile id order, and recording after each page how
far it got. A restart reads on from there; a page started but not recorded (a crash between
the two) is started again, and its messageIds make that send nothing twice.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import logging
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from typing import Any, Final

from juncture.core.journeys.catalog import Catalog
from juncture.core.journeys.orchestrate import JourneyConfig
from juncture.definitions import journeys as journey_definitions
from juncture.errors import Conflict, NotFound
from juncture.runtime import campaign_preview, feedback
from juncture.runtime.clock import Clock
from juncture.runtime.ingest import Ingestor
from juncture.runtime.periodic import Periodic, retried
from juncture.runtime.segments import Segments
from juncture.store.campaign_runs import DONE, OPEN, SCHEDULED, SENDING, CampaignRuns, Run
from juncture.store.engagement import COUNTS
from juncture.store.journeys import Applied, JourneyStore
from juncture.store.recipients import Recipients

SOURCE: Final = "campaigns"
EVENT: Final = "Campaign Started"
PAGE: Final = 500  # members read, and events committed, at a time
TICK: Final = 5.0  # seconds between the job's looks for due campaigns
MINUTE: Final = dt.timedelta(minutes=1)
log = logging.getLogger("juncture.campaigns")


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
        runs: CampaignRuns | None = None,
        config: JourneyConfig | None = None,
    ) -> None:
        self.journeys = journeys
        self.templates = templates  # the names that exist: a campaign naming another is 422
        self.segments = segments
        self.recipients = recipients
        self.ingestor = ingestor
        self.clock = clock
        self.runs = runs  # where scheduled and throttled campaigns are kept
        self.config = config or JourneyConfig()  # the engine's arbitration, for previews

    def preview(
        self, campaign: Campaign, send_at: dt.datetime | None = None, *, named: bool = True
    ) -> dict[str, Any]:
        """The audience now; how many of it granted, refused or never stated marketing
        consent on the channel; and what the campaign would do to each member if sent at
        ``send_at`` (default now): sent at once, deferred (quiet hours, send window) or
        suppressed, by reason, decided as the engine and the dispatcher would
        (:mod:`juncture.runtime.campaign_preview`). ``named``: its template must exist (a
        preview of the audience alone names none that matters)."""
        names = self.templates() if self.templates is not None and named else None
        spec = journey_definitions.loads(campaign.definition(), f"{campaign.journey_id}.json",
                                         names)  # fmt: skip
        members = list(self._members(campaign.segment))
        channel = str(campaign.message.get("channel"))
        counts = self.recipients.consent_counts(members, channel)
        at = max(send_at or self.clock.now(), self.clock.now())
        plan = campaign_preview.Plan(
            Catalog.of([spec]), campaign.journey_id, EVENT, _properties(campaign),
            _message_id(campaign, "{pid}"), at,
        )  # fmt: skip
        pages = [members[i : i + PAGE] for i in range(0, len(members), PAGE)]
        found = campaign_preview.tally(plan, pages, self.recipients, self.config)
        return {"segment": campaign.segment, "channel": channel, "audience": len(members),
                **counts, "sendAt": at.isoformat(), **found.to_json()}  # fmt: skip

    def launch(
        self, campaign: Campaign, send_at: dt.datetime | None = None, per_minute: int | None = None
    ) -> dict[str, Any]:
        """Store the campaign's journey (invalid: raises, nothing sent) and start it for
        every member of the segment now; or, with ``send_at`` to come or ``per_minute``,
        store the campaign for :class:`CampaignJob` to start, starting nobody now."""
        now = self.clock.now()
        old = None if self.runs is None else self.runs.get(campaign.id)
        if old is not None and old.status in OPEN:
            raise Conflict(f"campaign {campaign.id!r} is {old.status}; cancel it first",
                           where="id")  # fmt: skip
        if (send_at is None or send_at <= now) and per_minute is None:
            applied = self._apply(campaign)
            audience, started = self._start_all(campaign)
            return {"journeyId": applied.journey_id, "version": applied.version,
                    "audience": audience, "started": started}  # fmt: skip
        if self.runs is None:
            raise Conflict("this server does not keep scheduled campaigns", where="sendAt")
        self.segments.members(campaign.segment, now, limit=1)  # an unknown segment: 404
        applied = self._apply(campaign)
        run = Run(campaign.id, json.dumps(dataclasses.asdict(campaign)),
                  max(send_at or now, now), per_minute, SCHEDULED, "", 0, 0)  # fmt: skip
        self.runs.add(run, now)
        return {"journeyId": applied.journey_id, "version": applied.version, **run.to_json()}

    def cancel(self, campaign_id: str) -> dict[str, Any]:
        """Stop a scheduled or sending campaign: no member started after this (a page
        being started as it is cancelled still goes). Done already: Conflict."""
        run = None if self.runs is None else self.runs.cancel(campaign_id, self.clock.now())
        if run is None:
            self.journeys.stats(f"campaign_{campaign_id}")  # never launched: NotFound
            raise Conflict(f"campaign {campaign_id!r} was sent at once", where="campaign_id")
        if run.status == DONE:
            raise Conflict(f"campaign {campaign_id!r} is done", where="campaign_id")
        return {"campaign": campaign_id, **run.to_json()}

    def tick(self) -> int:
        """Start what is due of every scheduled or sending campaign; how many started."""
        if self.runs is None:
            return 0
        now, started = self.clock.now(), 0
        for run in self.runs.due(now):
            try:
                started += self.step(run, now)
            except NotFound as exc:  # its segment was deleted
                log.warning("campaign %s cannot start: %s", run.id, exc)
        return started

    def step(self, run: Run, now: dt.datetime) -> int:
        """Start the members of ``run`` that are due at ``now``, a page at a time, recording
        each page; how many were started."""
        assert self.runs is not None
        campaign = Campaign(**json.loads(run.definition))
        started = 0
        while (room := allowed(run, now) - run.reached) > 0:
            page = self.segments.members(campaign.segment, now, after=run.cursor,
                                         limit=min(room, PAGE))  # fmt: skip
            status = DONE if len(page) < min(room, PAGE) else SENDING
            new = self._start(campaign, page) if page else 0
            after = dataclasses.replace(run, status=status, cursor=page[-1] if page else run.cursor,
                                        reached=run.reached + len(page),
                                        started=run.started + new)  # fmt: skip
            if not self.runs.advance(run, after, now):
                return started + new  # cancelled, or moved by another job
            run, started = after, started + new
            if status == DONE:
                break
        return started

    def results(self, campaign_id: str) -> dict[str, Any]:
        """What campaign ``campaign_id`` did: who it started (``entered``), its messages by
        status, what was suppressed and why, the orders it led to within its goal
        (``goalReached``, against its holdout), and its email engagement (opened, clicked,
        unsubscribed, with rates), with its ``status`` and, scheduled or throttled, its
        progress. Raises NotFound for a campaign never launched."""
        journey_id = f"campaign_{campaign_id}"
        stats = self.journeys.stats(journey_id).to_json()
        rows = self.recipients.engagement_by_variant(journey_id, ())
        totals = {name: sum(r[name] for r in rows) for name in ("sent", *COUNTS)}
        rates = {f"{n}Rate": round(totals[n] / totals["sent"], 4) if totals["sent"] else None
                 for n in COUNTS}  # fmt: skip
        run = None if self.runs is None else self.runs.get(campaign_id)
        progress = {"status": DONE} if run is None else run.to_json()
        return {"campaign": campaign_id, "journeyId": journey_id, **progress, **stats,
                "engagement": {**totals, **rates}}  # fmt: skip

    def _apply(self, campaign: Campaign) -> Applied:
        names = None if self.templates is None else self.templates()
        return self.journeys.apply(campaign.definition(), f"{campaign.journey_id}.json", names)

    def _start_all(self, campaign: Campaign) -> tuple[int, int]:
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
        return audience, started

    def _members(self, segment: str) -> Iterator[str]:
        now, after = self.clock.now(), ""
        while page := self.segments.members(segment, now, after=after, limit=PAGE):
            yield from page
            after = page[-1]

    def _start(self, campaign: Campaign, profile_ids: list[str]) -> int:
        """A ``Campaign Started`` event for each profile; how many were new."""
        at = self.clock.now().isoformat()
        found = self.recipients.identifiers(profile_ids)
        props = _properties(campaign)
        events = [
            feedback.track(identifier, EVENT, _message_id(campaign, pid), at, props)
            for pid, identifier in sorted(found.items())
        ]
        if not events:
            return 0
        return self.ingestor.ingest_sync(feedback.envelope(events), SOURCE).receipt.stored


def _properties(campaign: Campaign) -> dict[str, Any]:
    """The properties of each member's ``Campaign Started`` event."""
    return {"campaign_id": campaign.id, "campaign_name": campaign.name}


def _message_id(campaign: Campaign, profile_id: str) -> str:
    """The message id of a member's event: launching twice starts nobody twice."""
    return f"campaign:{campaign.id}:{profile_id}"


def allowed(run: Run, now: dt.datetime) -> int:
    """How many members ``run`` may have reached by ``now``: ``per_minute`` for each minute
    begun since its ``send_at`` (unthrottled: all)."""
    if now < run.send_at:
        return 0
    if run.per_minute is None:
        return 1 << 62
    return run.per_minute * ((now - run.send_at) // MINUTE + 1)


class CampaignJob(Periodic):
    """Runs :meth:`Campaigns.tick` every ``interval`` seconds on a thread of its own."""

    def __init__(self, campaigns: Campaigns, interval: float = TICK) -> None:
        task = retried(campaigns.tick, log, "campaigns tick")
        super().__init__("juncture-campaigns", task, interval)
        self.campaigns = campaigns
