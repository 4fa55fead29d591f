"""One-off campaigns to a segment (admin API, bearer token); see
:mod:`juncture.runtime.campaigns`.

- ``GET /v1/campaigns/preview?segment=&channel=email``: the audience now, how many of it
  granted, refused or never stated marketing consent on the channel, and what a marketing
  campaign would do to them if sent now (or at ``sendAt``): how many it would send at once,
  defer (quiet hours, send window) or suppress, by reason (no consent, frequency caps, no
  address, holdout, suppressed addresses), decided by the engine's own arbitration
  (:mod:`juncture.runtime.campaign_preview`). ``id`` and ``holdout`` draw the holdout as
  the campaign of that id would, and count the members it already started apart.
- ``POST /v1/campaigns/preview``: the same for a campaign exactly as ``POST /v1/campaigns``
  would launch it (its purpose, send window, holdout and ``sendAt``); nothing is stored.
- ``GET /v1/campaigns/{id}``: its results: whom it started, its messages by status, what
  was suppressed and why, orders within its goal against its holdout, and its email
  engagement (opened, clicked, unsubscribed, with rates); 404 for a campaign never launched.
- ``POST /v1/campaigns``: store the campaign's journey and start it for every member now;
  answers the journey, the audience and how many were started (a second launch of the same
  campaign starts nobody twice). A message that does not validate is answered 422 with its
  problems, and nothing is sent. With ``sendAt`` (an aware time still to come) or
  ``perMinute`` (members started a minute at most), the journey is stored and checked at
  once but nobody is started: ``juncture serve`` starts the members when the time comes;
  answers its ``status`` (scheduled), ``sendAt`` and ``perMinute``. A campaign of that id
  still scheduled or sending is 409.
- ``DELETE /v1/campaigns/{id}``: cancel a scheduled or sending campaign (nobody further is
  started); 409 when it is done, 404 when never launched.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from juncture.api.auth import admin_only
from juncture.api.errors import json_response
from juncture.core.journeys.spec import Channel as ChannelName
from juncture.core.journeys.spec import Purpose
from juncture.runtime.campaigns import Campaign, Campaigns

ID = r"^[a-z0-9_-]{1,60}$"


class CampaignRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    id: str = Field(pattern=r"^[a-z0-9_-]{1,60}$")
    name: str = Field(min_length=1, max_length=200)
    segment: str = Field(min_length=1, max_length=100)
    channel: ChannelName
    template: str | None = Field(default=None, max_length=200)
    inline: dict[str, Any] | None = None
    purpose: Purpose = "marketing"
    data: dict[str, Any] | None = None
    kind: str | None = Field(default=None, max_length=64)
    holdout: float = Field(default=0.0, ge=0, lt=100)
    priority: int = Field(default=0, ge=-1000, le=1000)
    send_window: dict[str, Any] | None = Field(default=None, alias="sendWindow")
    send_at: AwareDatetime | None = Field(default=None, alias="sendAt")
    per_minute: int | None = Field(default=None, alias="perMinute", ge=1, le=1_000_000)

    def campaign(self) -> Campaign:
        fields = ("channel", "template", "inline", "purpose", "data", "kind")
        message = {k: getattr(self, k) for k in fields if getattr(self, k) is not None}
        return Campaign(self.id, self.name, self.segment, message, self.holdout,
                        self.priority, self.send_window)  # fmt: skip


def router(campaigns: Campaigns, admin_token: str | None) -> APIRouter:
    api = APIRouter(tags=["campaigns"], dependencies=[admin_only(admin_token)])

    @api.get("/v1/campaigns/preview")
    async def preview(
        segment: Annotated[str, Query(min_length=1, max_length=100)],
        channel: Annotated[ChannelName, Query()] = "email",
        campaign_id: Annotated[str, Query(alias="id", pattern=ID)] = "preview",
        holdout: Annotated[float, Query(ge=0, lt=100)] = 0.0,
        send_at: Annotated[AwareDatetime | None, Query(alias="sendAt")] = None,
    ) -> Response:
        message = {"channel": channel, "template": "preview"}  # what it says changes nothing
        campaign = Campaign(campaign_id, "preview", segment, message, holdout)
        at = None if send_at is None else send_at.astimezone(dt.UTC)
        answer = await run_in_threadpool(functools.partial(campaigns.preview, named=False),
                                         campaign, at)  # fmt: skip
        return json_response(answer)

    @api.post("/v1/campaigns/preview")
    async def preview_campaign(body: CampaignRequest) -> Response:
        at = None if body.send_at is None else body.send_at.astimezone(dt.UTC)
        return json_response(await run_in_threadpool(campaigns.preview, body.campaign(), at))

    @api.get("/v1/campaigns/{campaign_id}")
    async def results(campaign_id: Annotated[str, Path(pattern=ID)]) -> Response:
        return json_response(await run_in_threadpool(campaigns.results, campaign_id))

    @api.delete("/v1/campaigns/{campaign_id}")
    async def cancel(campaign_id: Annotated[str, Path(pattern=ID)]) -> Response:
        return json_response(await run_in_threadpool(campaigns.cancel, campaign_id))

    @api.post("/v1/campaigns")
    async def launch(body: CampaignRequest) -> Response:
        send_at = None if body.send_at is None else body.send_at.astimezone(dt.UTC)
        return json_response(
            await run_in_threadpool(campaigns.launch, body.campaign(), send_at, body.per_minute)
        )

    return api
