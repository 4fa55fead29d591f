"""Webhooks: a signed JSON ``POST`` to the URL in the message.

Headers:

- ``Idempotency-Key``: the outbox key; the same on every attempt of one message.
- ``X-Juncture-Timestamp``: seconds since the epoch when this attempt was signed.
- ``X-Juncture-Signature``: ``sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>``.

A receiver recomputes the signature over the raw body (:func:`verify` does it), rejects old
timestamps, and stores the idempotency key to ignore repeats. 2xx is delivered; 5xx, 408, 429,
timeouts and connection failures are retried; other 4xx are not.

A URL that resolves to a loopback, private or link-local address is refused unless allowed
(:mod:`juncture.channels.targets`), redirects are not followed, and a failed call records
the target's status, never its body (it could be anything the target holds).
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import httpx
import orjson

from juncture.channels.base import (
    DeliveryResult,
    HttpChannel,
    Now,
    OutboundMessage,
    judge,
    post,
)
from juncture.channels.targets import TargetPolicy

USER_AGENT = "juncture-webhook/1"


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=`` and the hex HMAC-SHA256 of ``timestamp + "." + body`` under ``secret``."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(
    secret: str, timestamp: str, body: bytes, signature: str, *, now: float, tolerance: float = 300
) -> bool:
    """What a receiver checks: the signature matches and the timestamp is recent.

    >>> verify("s", "100", b"{}", sign("s", "100", b"{}"), now=120)
    True
    >>> verify("s", "100", b"{}", sign("other", "100", b"{}"), now=120)
    False
    """
    try:
        fresh = abs(now - int(timestamp)) <= tolerance
    except ValueError:
        return False
    return fresh and hmac.compare_digest(sign(secret, timestamp, body), signature)


def body_of(message: OutboundMessage) -> dict[str, Any]:
    """The JSON sent: the journey's ``body`` when it gave one, else a standard envelope."""
    given = message.payload.get("body")
    if isinstance(given, dict) and given:
        return given
    keys = ("profile_id", "journey", "event", "profile", "cart", "recommendations")
    return {
        "idempotency_key": message.idempotency_key,
        "purpose": message.purpose,
        **{k: message.payload[k] for k in keys if k in message.payload},
    }


class Webhook(HttpChannel):
    """The webhook channel; the URL comes from the message (``payload["url"]``), the signed
    timestamp from ``now`` (the runtime's clock)."""

    def __init__(
        self,
        *,
        secret: str,
        client: httpx.AsyncClient | None = None,
        timeout: float = 10.0,
        now: Now,
        targets: TargetPolicy | None = None,
    ) -> None:
        super().__init__(client, timeout)
        self._secret = secret
        self._now = now
        self._targets = targets or TargetPolicy()

    async def send(self, message: OutboundMessage) -> DeliveryResult:
        url = message.recipient("url")
        if url is None:
            return DeliveryResult.failed("webhook: no url", retryable=False)
        refused = await self._targets.refusal(url)
        if refused is not None:
            return DeliveryResult.failed(f"webhook: refused target: {refused}", retryable=False)
        body = orjson.dumps(body_of(message))
        timestamp = str(int(self._now().timestamp()))
        headers = {
            "Content-Type": "application/json",
            "User-Agent": USER_AGENT,
            "Idempotency-Key": message.idempotency_key,
            "X-Juncture-Timestamp": timestamp,
            "X-Juncture-Signature": sign(self._secret, timestamp, body),
        }
        answer = await post(self.client, url, what="webhook", content=body, headers=headers)
        if isinstance(answer, DeliveryResult):
            return answer
        return judge(answer, "webhook", body=False)
