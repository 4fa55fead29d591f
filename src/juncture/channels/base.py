"""The one interface every channel implements, and what flows through it.

A channel takes one :class:`OutboundMessage` and answers with a :class:`DeliveryResult`; it
never raises for a delivery problem. Errors from libraries (SMTP, HTTP) are mapped here, at
the boundary, into ``ok`` / ``retryable`` / ``error``, so the dispatcher decides retries from
plain data. ``error`` texts name the kind of failure and the provider's own words, never the
recipient.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, Self

import httpx

from juncture.errors import JunctureError

# What an adapter that stamps its messages (an email's Date, a webhook's signed timestamp)
# reads the time from: the runtime's clock, handed over where the adapter is built.
Now = Callable[[], dt.datetime]


class ChannelMisconfigured(JunctureError):
    """A channel cannot be built from what it was given (a bad URL, a missing sender)."""

    code = "channel_misconfigured"


@dataclass(frozen=True, slots=True)
class Content:
    """A rendered message: ``subject`` (email subject, push title), ``html`` and ``text``."""

    subject: str = ""
    html: str = ""
    text: str = ""


@dataclass(frozen=True, slots=True)
class OutboundMessage:
    """One message to deliver, built by the dispatcher from an outbox row.

    ``payload`` holds the recipient (``recipient: {email, phone, device_token, url}``, or
    the same names at the top level) and the render context (``profile``, ``event``,
    ``cart``, ``recommendations``, ``journey``);
    ``content`` is the rendered template, absent for channels that send data (webhooks);
    ``headers`` are the message's own (email: ``List-Unsubscribe``).
    """

    outbox_id: int
    idempotency_key: str
    channel: str
    purpose: str
    template: str | None
    payload: Mapping[str, Any] = field(default_factory=dict)
    content: Content | None = None
    headers: Mapping[str, str] = field(default_factory=dict)

    def recipient(self, name: str) -> str | None:
        """``payload["recipient"][name]``, else ``payload[name]``; None when absent or empty."""
        nested = self.payload.get("recipient")
        value = nested.get(name) if isinstance(nested, Mapping) else None
        if value in (None, ""):
            value = self.payload.get(name)
        return str(value) if value not in (None, "") else None


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """What one attempt achieved. ``retryable`` matters only when ``ok`` is false."""

    ok: bool
    retryable: bool = False
    status_code: int | None = None
    error: str | None = None
    provider_id: str | None = None

    @classmethod
    def sent(cls, *, status_code: int | None = None, provider_id: str | None = None) -> Self:
        return cls(ok=True, status_code=status_code, provider_id=provider_id)

    @classmethod
    def failed(cls, error: str, *, retryable: bool, status_code: int | None = None) -> Self:
        return cls(ok=False, retryable=retryable, status_code=status_code, error=error)


class Channel(Protocol):
    """Deliver one message. Must not raise for delivery problems: answer a result."""

    async def send(self, message: OutboundMessage) -> DeliveryResult: ...


def http_retryable(status_code: int) -> bool:
    """5xx, 408 (timeout) and 429 (rate limited) may succeed later; other 4xx will not."""
    return status_code >= 500 or status_code in (408, 429)


async def post(
    client: httpx.AsyncClient, url: str, *, what: str, **kwargs: Any
) -> httpx.Response | DeliveryResult:
    """POST with httpx, mapping transport errors to a retryable :class:`DeliveryResult`."""
    try:
        return await client.post(url, **kwargs)
    except httpx.TimeoutException as exc:
        return DeliveryResult.failed(f"{what}: timed out ({type(exc).__name__})", retryable=True)
    except httpx.TransportError as exc:
        return DeliveryResult.failed(f"{what}: {type(exc).__name__}: {exc}", retryable=True)
    except httpx.InvalidURL as exc:
        return DeliveryResult.failed(f"{what}: invalid URL: {exc}", retryable=False)


def snippet(text: str, limit: int = 300) -> str:
    """A provider's answer shortened for ``last_error``."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def judge(
    response: httpx.Response, what: str, provider_id: str | None = None, *, body: bool = True
) -> DeliveryResult:
    """2xx delivered; otherwise retryable as :func:`http_retryable`. ``body`` False keeps the
    answer's body out of the error (a target the retailer does not control)."""
    code = response.status_code
    if 200 <= code < 300:
        return DeliveryResult.sent(status_code=code, provider_id=provider_id)
    detail = f": {snippet(response.text)}" if body else ""
    return DeliveryResult.failed(
        f"{what}: HTTP {code}{detail}",
        retryable=http_retryable(code),
        status_code=code,
    )


class HttpChannel:
    """Owns (or borrows) an ``httpx.AsyncClient``; close it with :meth:`aclose`."""

    def __init__(self, client: httpx.AsyncClient | None, timeout: float) -> None:
        self._owns_client = client is None
        self.client = client or httpx.AsyncClient(timeout=timeout)

    async def aclose(self) -> None:
        if self._owns_client:
            await self.client.aclose()
