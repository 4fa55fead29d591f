"""The on-site decision API: ``POST /v1/decide`` says what to show a visitor now.

Authenticated like the tracking API (the write key as the HTTP Basic user name, or
``writeKey`` in the body). The body names the visitor (``userId`` and/or ``anonymousId``) and
the ``placement`` asking (a slot on the page, such as ``home`` or ``exit``). The answer is
``{"placement", "show": {...} | null, "reason"}``.

A ``userId`` counts only with proof (:mod:`juncture.core.proof`): ``userHash`` in the body or
the ``X-Juncture-User-Hash`` header, the HMAC of the user id under
``JUNCTURE_IDENTITY_SECRET`` that the retailer's backend puts in the page. Without it the
visitor is its ``anonymousId`` alone, and with neither nothing personal is shown (reason
``identity_unverified``); the ``Juncture-Identity`` header says which (``verified``,
``anonymous``, ``unverified``). Write keys are public: a key alone must not show anyone's
basket. The order of choice:

1. an on-site message a journey queued for this profile (``outbox`` row on channel
   ``onsite``, its ``payload.placement`` this placement or ``any``), reason ``queued``;
2. else a rule-based default: a cart reminder when the profile has a cart (once per cart,
   reason ``cart_recovery``), a welcome on a first visit (once per profile, ``first_visit``);
   in the placement ``exit`` (the visitor is leaving) only an exit offer while the cart holds
   items (once per cart, ``exit_intent``);
3. else nothing, with the reason (``no_consent``, ``frequency_cap``, ``already_shown``,
   ``nothing_to_show``).

The choice is :func:`juncture.core.placements.decide`'s; the runtime's
:class:`~juncture.runtime.decide.Decider` reads the store, renders what is chosen and records
it as an impression (row ``shown`` with ``sent_at``); this module is the HTTP around it.
Marketing placements respect the profile's consent for channel ``onsite`` and at most
``JUNCTURE_ONSITE_CAP_PER_DAY`` impressions per profile in 24 hours; transactional ones
respect neither cap nor marketing consent. ``show`` carries the popover ``kind`` (welcome,
cart_recovery, exit_intent, product_recommendation, time_sensitive_offer, retargeting,
email_my_basket, data_capture, survey), the rendered ``title``, ``html`` and ``text``, and the
message's ``data``.

A *touchpoint* placement (``back_in_stock``, ``price_drop``, ``low_stock``, ``pickup``,
``endless_aisle``, ``product_location``, ``specs``, ``reviews``, ``loyalty``, ``coupon``,
``promo``, ``compare``, ``expert``, ``app``, ``wishlist``, ``gift``, ``cart_reminder``,
``clickstream``, ``presence``, ``event``) is answered from the retailer's tables instead
(:mod:`juncture.core.touchpoints`), with what the page knows in the body: ``productId``,
``storeCode``, ``latitude`` and ``longitude``, ``question``; for ``gift``, ``category``,
``budget`` and ``recipient`` (the recipient's userId).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final

import orjson
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response
from starlette.routing import Route

from juncture.api import bodies, engine_status, params
from juncture.api.auth import WriteKeys, basic_user
from juncture.api.errors import json_response
from juncture.api.tracking import read_body
from juncture.core import proof
from juncture.core import touchpoints as tp
from juncture.errors import BadInput, MalformedBody
from juncture.runtime.decide import Answer, Decider, Shown
from juncture.runtime.recommend_slots import slot_kind
from juncture.runtime.standing import Standing

PROOF_HEADER = "X-Juncture-User-Hash"
IDENTITY_HEADER = "Juncture-Identity"
_BOOL: Final = TypeAdapter(bool)
THREADS: Final = 16  # decisions at once (each mostly holds the GIL or waits for a commit)


class DecideRequest(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    user_id: str | None = Field(default=None, alias="userId", min_length=1, max_length=300)
    anonymous_id: str | None = Field(
        default=None, alias="anonymousId", min_length=1, max_length=300
    )
    placement: str = Field(pattern=r"^[A-Za-z0-9_.:-]{1,64}$")
    product_id: str | None = Field(default=None, alias="productId", min_length=1, max_length=200)
    store_code: str | None = Field(default=None, alias="storeCode", min_length=1, max_length=200)
    latitude: float | None = Field(default=None, ge=-90, le=90)
    longitude: float | None = Field(default=None, ge=-180, le=180)
    question: str | None = Field(default=None, min_length=1, max_length=500)
    user_hash: str | None = Field(default=None, alias="userHash", max_length=128)
    category: str | None = Field(default=None, min_length=1, max_length=500)
    budget: float | None = Field(default=None, gt=0, le=1e9)
    recipient: str | None = Field(default=None, min_length=1, max_length=300)

    def trusted(self, secret: str | None, header: str | None) -> tuple[DecideRequest, str]:
        """This request with ``userId`` only when proven, and which identity counts."""
        if self.user_id is None:
            return self, "anonymous"
        if proof.verified(secret, self.user_id, self.user_hash or header):
            return self, "verified"
        return self.model_copy(update={"user_id": None}), "unverified"

    def ask(self) -> tp.Ask | None:
        """The touchpoint asked, when the placement names one (else None)."""
        if self.placement not in tp.TOUCHPOINTS and slot_kind(self.placement) is None:
            return None
        point = None
        if self.latitude is not None and self.longitude is not None:
            point = (self.latitude, self.longitude)
        return tp.Ask(
            self.placement, self.product_id, self.store_code, point, self.question, self.user_id,
            self.anonymous_id, self.category, self.budget, self.recipient,
        )  # fmt: skip

    def identifiers(self) -> list[str]:
        found = []
        if self.user_id is not None:
            found.append("user_id:" + self.user_id)
        if self.anonymous_id is not None:
            found.append("anonymous_id:" + self.anonymous_id)
        return found


def _json(answer: Answer) -> dict[str, Any]:
    show = None if answer.show is None else _show(answer.show)
    return {"placement": answer.placement, "show": show, "reason": answer.reason}


def _show(shown: Shown) -> dict[str, Any]:
    return {
        "id": shown.id,
        "kind": shown.kind,
        "title": shown.content.subject,
        "html": shown.content.html,
        "text": shown.content.text,
        "data": shown.data,
        "journeyId": shown.journey_id,
    }


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


def _consistent(given: str | None) -> bool:
    """``?consistent=`` as FastAPI's ``bool`` query parameter reads it (``true``, ``1``,
    ``yes``, ``on`` and their opposites), or the same 400."""
    if given is None:
        return False
    try:
        return _BOOL.validate_python(given)
    except ValidationError as exc:
        where = "query.consistent"
        message = f"{where}: {exc.errors()[0]['msg']}"
        raise BadInput(message, code="invalid_parameter", where=where) from exc


class _Decide:
    """``POST /v1/decide``'s answer, shared by its two routes (:func:`routes`)."""

    def __init__(
        self,
        decider: Decider,
        keys: WriteKeys,
        body_timeout: float,
        engine: Standing | None,
        identity_secret: str | None,
    ) -> None:
        self.decider = decider
        self.keys = keys
        self.body_timeout = body_timeout
        self.engine = engine
        self.identity_secret = identity_secret
        # the decisions' own threads: a hand-off lighter than anyio's worker threads
        self.threads = ThreadPoolExecutor(THREADS, thread_name_prefix="juncture-decide")

    async def plain(self, request: Request) -> Response:
        """The Starlette endpoint: the app-wide query check and ``consistent`` by hand."""
        params.no_nul(request)
        return await self.answer(request, _consistent(request.query_params.get("consistent")))

    async def answer(self, request: Request, consistent: bool) -> Response:
        keys = self.keys
        user = basic_user(request)
        if user and not keys.known(user):
            await run_in_threadpool(keys.source, user)
        data = _parse(await read_body(request, self.body_timeout))
        key = data.get("writeKey")
        if not user and not keys.known(key if isinstance(key, str) else None):
            await run_in_threadpool(keys.source, key if isinstance(key, str) else None)
        asked = _request(data)
        if asked.user_id is None and asked.anonymous_id is None:
            raise BadInput("give `userId` or `anonymousId`", code="missing_identity")
        header = request.headers.get(PROOF_HEADER)
        wanted, identity = asked.trusted(self.identity_secret, header)
        identifiers = wanted.identifiers()
        routing = [i for i in (wanted.user_id, wanted.anonymous_id) if i is not None]
        reached = await engine_status.catch_up(self.engine, consistent, routing)
        if identifiers:
            answer = await asyncio.get_running_loop().run_in_executor(
                self.threads, self.decider.decide, identifiers, wanted.placement, wanted.ask()
            )
        else:
            answer = Answer(wanted.placement, None, "identity_unverified")
        response = engine_status.marked(json_response(_json(answer)), reached)
        response.headers[IDENTITY_HEADER] = identity
        return response


def routes(
    decider: Decider,
    keys: WriteKeys,
    body_timeout: float,
    engine: Standing | None,
    identity_secret: str | None = None,
) -> tuple[APIRouter, Route]:
    """The documented FastAPI route (the OpenAPI schema: body, ``consistent``, tags), and a
    plain Starlette route for the same path that the app matches before every other: it
    answers exactly as the FastAPI one would, without FastAPI's route matching and
    dependency solving (a sixth of a decision's server CPU)."""
    decide = _Decide(decider, keys, body_timeout, engine, identity_secret)
    api = APIRouter(tags=["decisions"])

    @api.post("/v1/decide", openapi_extra=bodies.decide())
    async def documented(
        request: Request, consistent: engine_status.Consistent = False
    ) -> Response:
        return await decide.answer(request, consistent)

    plain = Route("/v1/decide", decide.plain, methods=["POST"], include_in_schema=False)
    return api, plain
