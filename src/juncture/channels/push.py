"""Push notifications through a generic JSON provider.

POSTs ``{"token", "title", "body", "data", "idempotency_key"}`` to the provider's URL with an
``Idempotency-Key`` header (and ``Authorization: Bearer`` when given a token). ``token`` is the
device token (``payload["device_token"]``), ``title`` the rendered subject, ``body`` the
rendered text, ``data`` the message's ``payload["data"]`` (a deep link, ids).
"""

from __future__ import annotations

import httpx

from juncture.channels.base import (
    Content,
    DeliveryResult,
    HttpChannel,
    OutboundMessage,
    judge,
    post,
)


class JsonPush(HttpChannel):
    """A generic JSON push provider at ``url``."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None = None,
        client: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
    ) -> None:
        super().__init__(client, timeout)
        self.url = url
        self._token = token

    async def send(self, message: OutboundMessage) -> DeliveryResult:
        device = message.recipient("device_token")
        if device is None:
            return DeliveryResult.failed("push: no device token", retryable=False)
        content = message.content or Content()
        data = message.payload.get("data")
        body = {
            "token": device,
            "title": content.subject,
            "body": content.text.strip(),
            "data": data if isinstance(data, dict) else {},
            "idempotency_key": message.idempotency_key,
        }
        headers = {"Idempotency-Key": message.idempotency_key}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        answer = await post(self.client, self.url, what="push", json=body, headers=headers)
        if isinstance(answer, DeliveryResult):
            return answer
        try:
            found = answer.json().get("id")
        except (ValueError, AttributeError):
            found = None
        return judge(answer, "push", str(found) if found is not None else None)
