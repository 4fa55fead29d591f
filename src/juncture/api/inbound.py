"""Providers' inbound webhooks: what recipients answer through the providers.

- ``POST /v1/inbound/email``: bounces and complaints, in the shapes of Amazon SES (through
  SNS), SendGrid, Postmark, Mailgun or plain JSON (:mod:`juncture.channels.provider_events`):
  a hard bounce stops every email to the address, a complaint stops marketing to it and
  revokes the profile's email marketing consent; each is recorded against its delivery.
- ``POST /v1/inbound/sms``: a text message a customer sent to the retailer's number, in
  Twilio's shape (form fields ``From``, ``Body``, ``MessageSid``), Vonage's (``msisdn``,
  ``text``, ``messageId``) or a plain JSON one (``from``, ``body``, ``id``). The carriers'
  keywords (``STOP``, ``UNSUBSCRIBE``, ``CANCEL``, ``END``, ``QUIT``, ``STOPALL``) stop SMS
  marketing to the number; ``START``, ``UNSTOP`` start it again. Any other text is
  acknowledged and left alone.

Each call must present ``JUNCTURE_INBOUND_TOKEN``, as a bearer token or as the password of
HTTP Basic (``https://juncture:TOKEN@juncture.shop.example/v1/inbound/sms``, the form the
providers' consoles take). Without the setting the endpoints answer 404.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from collections.abc import Mapping
from typing import Any, Final
from urllib.parse import parse_qsl

import orjson
from fastapi import APIRouter, Request
from starlette.responses import Response

from juncture.api import body as bodies
from juncture.api.errors import json_response
from juncture.channels import provider_events
from juncture.core.identity import normalize_phone
from juncture.errors import BadInput, NotFound, Unauthorized
from juncture.runtime.feedback import FeedbackRecorder

LIMIT: Final = 64 * 1024  # an inbound message or a provider's event batch
# (from, body, id) field names of each provider's shape, tried in order.
SMS_SHAPES: Final = (("From", "Body", "MessageSid"), ("msisdn", "text", "messageId"),
                     ("from", "body", "id"))  # fmt: skip
TWIML_EMPTY: Final = b'<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def presented(request: Request) -> str:
    """The token a call presents: a bearer token, or the password of HTTP Basic."""
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer":
        return value.strip()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return ""
        return decoded.partition(":")[2]
    return ""


def fields(request: Request, raw: bytes) -> tuple[dict[str, Any], bool]:
    """The body's fields, and whether it was a form (Twilio wants TwiML back)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind == "application/x-www-form-urlencoded":
        try:
            return dict(parse_qsl(raw.decode(), keep_blank_values=True)), True
        except UnicodeDecodeError as exc:
            raise BadInput("the form is not UTF-8", code="bad_encoding", where="body") from exc
    try:
        found = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadInput("send JSON or a form", code="malformed_json", where=f"body: {exc}") from exc
    if not isinstance(found, dict):
        raise BadInput("the body must be an object", code="invalid_body", where="body")
    return found, False


def sms_of(data: Mapping[str, Any]) -> tuple[str, str, str]:
    """(number, text, provider's id) from whichever shape the body has."""
    for sender, text, ident in SMS_SHAPES:
        if sender in data:
            number = normalize_phone(data.get(sender))
            if number is None:
                raise BadInput("the sender is not a phone number", where=f"body.{sender}")
            return number, str(data.get(text) or ""), str(data.get(ident) or "")[:100]
    raise BadInput("no sender: expected From, msisdn or from", where="body")


def router(token: str | None, feedback: FeedbackRecorder, body_timeout: float) -> APIRouter:
    api = APIRouter(tags=["messages"])

    async def authorized(request: Request) -> bytes:
        if token is None:
            raise NotFound("inbound webhooks are off: set JUNCTURE_INBOUND_TOKEN")
        if not hmac.compare_digest(presented(request).encode(), token.encode()):
            raise Unauthorized("present JUNCTURE_INBOUND_TOKEN as a bearer token or Basic password")
        return await bodies.read(request, limit=LIMIT, timeout=body_timeout)

    @api.post("/v1/inbound/sms")
    async def sms(request: Request) -> Response:
        """A customer's text message: STOP and START keywords change SMS marketing."""
        data, form = fields(request, await authorized(request))
        number, text, ident = sms_of(data)
        word = await feedback.sms_reply(number, text, ident)
        if form:
            return Response(TWIML_EMPTY, media_type="text/xml")
        return json_response({"keyword": word})

    @api.post("/v1/inbound/email")
    async def email(request: Request) -> Response:
        """Bounces and complaints from the email provider (SES through SNS, SendGrid,
        Postmark, Mailgun or plain JSON): hard bounces and complaints suppress the address."""
        try:
            data = orjson.loads(await authorized(request))
        except orjson.JSONDecodeError as exc:
            raise BadInput("send JSON", code="malformed_json", where=f"body: {exc}") from exc
        if isinstance(data, dict) and data.get("Type") == "SubscriptionConfirmation":
            return json_response({"taken": {}, "confirm": "open this message's SubscribeURL"})
        try:
            reports = provider_events.read(data)
        except (provider_events.UnknownShape, ValueError) as exc:
            raise BadInput(str(exc), code="unknown_report", where="body") from exc
        return json_response({"taken": await feedback.mail_reports(reports)})

    return api
