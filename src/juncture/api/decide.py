"""The on-site decision API: ``POST /v1/decide`` says what to show a visitor now.

Authenticated like the tracking API (the write key as the HTTP Basic user name, or
``writeKey`` in the body). The body names the visitor (``userId`` and/or ``anonymousId``) and
the ``placement`` asking (a slot on the page, such as ``home`` or ``exit``). The answer is
``{"placement", "show": {...} | null, "reason"}``:

1. an on-site message a journey queued for this profile (``outbox`` row on channel
   ``onsite``, its ``payload.placement`` this placement or ``any``), reason ``queued``;
2. else a rule-based default: a cart reminder when the profile has a cart (once per cart,
   reason ``cart_recovery``), a welcome on a first visit (once per profile, ``first_visit``);
3. else nothing, with the reason (``no_consent``, ``frequency_cap``, ``already_shown``,
   ``nothing_to_show``).

What is shown is recorded as an impression (row ``shown`` with ``sent_at``). Marketing
placements respect the profile's consent for channel ``onsite`` and at most
``JUNCTURE_ONSITE_CAP_PER_DAY`` impressions per profile in 24 hours; transactional ones
respect neither cap nor marketing consent. ``show`` carries the popover ``kind`` (welcome,
cart_recovery, exit_intent, product_recommendation, time_sensitive_offer, retargeting,
email_my_basket, data_capture, survey), the rendered ``title``, ``html`` and ``text``, and the
message's ``data``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any, Final

import orjson
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from juncture.api import bodies
from juncture.api.auth import WriteKeys, basic_user
from juncture.api.errors import json_response
from juncture.api.tracking import read_body
from juncture.channels.base import Content
from juncture.channels.templates import TemplateError, Templates
from juncture.core.identity import profile_id_for
from juncture.core.journeys.spec import PLACEMENT_KINDS
from juncture.core.profile.consent import consent_for
from juncture.core.profile.model import Profile, plain
from juncture.errors import BadInput, MalformedBody
from juncture.runtime.clock import Clock
from juncture.store.outbox import ONSITE, NewMessage, OutboxRow
from juncture.store.placements import Placements

KINDS: Final = PLACEMENT_KINDS
DAY: Final = dt.timedelta(days=1)
_PRIVATE: Final = ("recipient", "inline", "placement", "kind")


class DecideRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    user_id: str | None = Field(default=None, alias="userId", min_length=1, max_length=300)
    anonymous_id: str | None = Field(
        default=None, alias="anonymousId", min_length=1, max_length=300
    )
    placement: str = Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")

    def identifiers(self) -> list[str]:
        found = []
        if self.user_id is not None:
            found.append("user_id:" + self.user_id)
        if self.anonymous_id is not None:
            found.append("anonymous_id:" + self.anonymous_id)
        if not found:
            raise BadInput("give `userId` or `anonymousId`", code="missing_identity")
        return found


class Decider:
    """Chooses, renders and records what one visitor sees in one placement."""

    def __init__(
        self, placements: Placements, clock: Clock, cap_per_day: int, templates: Templates
    ) -> None:
        self.placements = placements
        self.clock = clock
        self.cap = cap_per_day
        self.templates = templates

    def decide(self, identifiers: Sequence[str], placement: str) -> dict[str, Any]:
        now = self.clock.now()
        known = self.placements.resolve(identifiers)
        profile = self.placements.profile(known) if known else None
        pid = known or profile_id_for(identifiers[0])  # the id its first event will found
        context = _context(pid, profile)
        blocked = self._blocked(pid, profile, now)
        for row in self.placements.queued(pid, now):
            if row.payload.get("placement", "any") not in (placement, "any"):
                continue
            if row.purpose != "transactional" and blocked:
                continue
            content = self._render(row, context, now)
            if content is not None and self.placements.mark_shown(row, now):
                return _answer(placement, _show(row, content), "queued")
        if blocked:
            return _answer(placement, None, blocked)
        return self._default(pid, profile, placement, context, now)

    def _blocked(self, pid: str, profile: Profile | None, now: dt.datetime) -> str | None:
        """Why marketing placements may not be shown now, or None."""
        if profile is not None and consent_for(profile, ONSITE, "marketing") is False:
            return "no_consent"
        if self.placements.shown_since(pid, now - DAY) >= self.cap:
            return "frequency_cap"
        return None

    def _render(
        self, row: OutboxRow, context: Mapping[str, Any], now: dt.datetime
    ) -> Content | None:
        data = {k: v for k, v in row.payload.items() if k not in _PRIVATE}
        data.update(context)
        inline = row.payload.get("inline")
        name = row.template or f"onsite_{_kind(row)}"
        try:
            return self.templates.render(
                None if inline else name, data, inline=inline if isinstance(inline, dict) else None
            )
        except TemplateError as exc:
            self.placements.mark_failed(row, now, exc.message)
            return None

    def _default(
        self,
        pid: str,
        profile: Profile | None,
        placement: str,
        context: Mapping[str, Any],
        now: dt.datetime,
    ) -> dict[str, Any]:
        candidates = []
        if profile is not None and profile.cart.items:
            stamp = profile.cart.updated_at.isoformat() if profile.cart.updated_at else "cart"
            candidates.append(("cart_recovery", f"onsite:{pid}:cart_recovery:{stamp}"))
        if profile is None or (profile.session_count <= 1 and profile.order_count == 0):
            candidates.append(("welcome", f"onsite:{pid}:welcome"))
        for kind, key in candidates:
            payload = {"placement": placement, "kind": kind}
            template = f"onsite_{kind}"
            content = self.templates.render(template, context)
            message = NewMessage(
                key, pid, ONSITE, "marketing", now, payload, template, status="shown"
            )
            row = self.placements.record_shown(message)
            if row is not None:
                reason = "first_visit" if kind == "welcome" else kind
                return _answer(placement, _show(row, content), reason)
        return _answer(placement, None, "already_shown" if candidates else "nothing_to_show")


def _kind(row: OutboxRow) -> str:
    kind = row.payload.get("kind")
    return kind if isinstance(kind, str) and kind in KINDS else "welcome"


def _context(pid: str, profile: Profile | None) -> dict[str, Any]:
    """The live profile and cart, for rendering (what a queued row carried may be stale)."""
    if profile is None:
        return {"profile": {"profile_id": pid}, "cart": {"items": []}}
    traits = profile.traits
    first = traits.get("first_name") or traits.get("firstName")
    items = [plain(item) for item in profile.cart.items.values()]
    cart = {
        "items": items,
        "value": profile.cart.value,
        "quantity": profile.cart.quantity,
        "currency": profile.cart.currency,
    }
    return {"profile": {**traits, "profile_id": pid, "first_name": first}, "cart": cart}


def _show(row: OutboxRow, content: Content) -> dict[str, Any]:
    data = row.payload.get("data")
    return {
        "id": row.id,
        "kind": _kind(row),
        "title": content.subject,
        "html": content.html,
        "text": content.text,
        "data": data if isinstance(data, dict) else {},
        "journeyId": row.journey_id,
    }


def _answer(placement: str, show: dict[str, Any] | None, reason: str) -> dict[str, Any]:
    return {"placement": placement, "show": show, "reason": reason}


def _parse(body: bytes) -> dict[str, Any]:
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise MalformedBody(f"the body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise MalformedBody("the body must be a JSON object", code="invalid_body")
    return data


def _request(data: Mapping[str, Any]) -> DecideRequest:
    try:
        return DecideRequest.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise BadInput(f"{where}: {first['msg']}", code="invalid_parameter", where=where) from exc


def router(decider: Decider, keys: WriteKeys, body_timeout: float) -> APIRouter:
    api = APIRouter(tags=["decisions"])

    @api.post("/v1/decide", openapi_extra=bodies.decide())
    async def decide(request: Request) -> Response:
        user = basic_user(request)
        if user:
            await run_in_threadpool(keys.source, user)
        data = _parse(await read_body(request, body_timeout))
        if not user:
            key = data.get("writeKey")
            await run_in_threadpool(keys.source, key if isinstance(key, str) else None)
        wanted = _request(data)
        identifiers = wanted.identifiers()
        answer = await run_in_threadpool(decider.decide, identifiers, wanted.placement)
        return json_response(answer)

    return api
