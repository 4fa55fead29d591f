"""SMS through HTTP providers: a generic JSON provider and Twilio's Messages API.

The text sent is the rendered template's text part (``content.text``); the recipient is
``payload["phone"]`` (E.164, ``+4930...``).

- :class:`JsonSms` POSTs ``{"to", "from", "body", "idempotency_key"}`` with an
  ``Idempotency-Key`` header (and ``Authorization: Bearer`` when given a token); the provider's
  message id is read from ``id`` or ``message_id`` in a JSON answer.
- :class:`TwilioSms` speaks ``POST {base}/2010-04-01/Accounts/{AccountSid}/Messages.json`` with
  form fields ``To``, ``From``, ``Body``, HTTP Basic ``AccountSid:AuthToken``; a success answers
  JSON with ``sid``, an error JSON ``{"code", "message", "more_info", "status"}``. Twilio does
  not deduplicate message creation by key, so a message sent again after a crash may arrive
  twice there (see :mod:`juncture.runtime.dispatcher`).
"""

from __future__ import annotations

from typing import Any

import httpx

from juncture.channels.base import DeliveryResult, HttpChannel, OutboundMessage, judge, post

TWILIO_API = "https://api.twilio.com"


def _text(message: OutboundMessage) -> str | None:
    text = message.content.text.strip() if message.content else ""
    return text or None


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {}
    return data if isinstance(data, dict) else {}


def _missing(message: OutboundMessage) -> DeliveryResult | None:
    if message.recipient("phone") is None:
        return DeliveryResult.failed("sms: no phone number", retryable=False)
    if _text(message) is None:
        return DeliveryResult.failed("sms: empty text", retryable=False)
    return None


class JsonSms(HttpChannel):
    """A generic JSON SMS provider at ``url``."""

    def __init__(
        self,
        url: str,
        *,
        sender: str,
        token: str | None = None,
        client: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
    ) -> None:
        super().__init__(client, timeout)
        self.url = url
        self.sender = sender
        self._token = token

    async def send(self, message: OutboundMessage) -> DeliveryResult:
        if (problem := _missing(message)) is not None:
            return problem
        headers = {"Idempotency-Key": message.idempotency_key}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        body = {
            "to": message.recipient("phone"),
            "from": self.sender,
            "body": _text(message),
            "idempotency_key": message.idempotency_key,
        }
        answer = await post(self.client, self.url, what="sms", json=body, headers=headers)
        if isinstance(answer, DeliveryResult):
            return answer
        data = _json(answer)
        found = data.get("id") or data.get("message_id")
        return judge(answer, "sms", str(found) if found is not None else None)


class TwilioSms(HttpChannel):
    """Twilio's Messages API (or anything that speaks its shape, at ``base_url``)."""

    def __init__(
        self,
        *,
        account_sid: str,
        auth_token: str,
        sender: str,
        base_url: str = TWILIO_API,
        client: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
    ) -> None:
        super().__init__(client, timeout)
        self.url = f"{base_url.rstrip('/')}/2010-04-01/Accounts/{account_sid}/Messages.json"
        self._auth = httpx.BasicAuth(account_sid, auth_token)
        self.sender = sender

    async def send(self, message: OutboundMessage) -> DeliveryResult:
        if (problem := _missing(message)) is not None:
            return problem
        form = {"To": message.recipient("phone"), "From": self.sender, "Body": _text(message)}
        answer = await post(self.client, self.url, what="twilio", data=form, auth=self._auth)
        if isinstance(answer, DeliveryResult):
            return answer
        data = _json(answer)
        if answer.is_success:
            sid = data.get("sid")
            return DeliveryResult.sent(
                status_code=answer.status_code, provider_id=str(sid) if sid else None
            )
        if "code" in data:
            return DeliveryResult.failed(
                f"twilio {data['code']}: {data.get('message', '')}",
                retryable=judge(answer, "twilio").retryable,
                status_code=answer.status_code,
            )
        return judge(answer, "twilio")
