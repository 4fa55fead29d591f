"""Email over real SMTP (aiosmtplib), to ``smtp://[user:pass@]host:port`` or ``smtps://``.

``smtp://`` upgrades with STARTTLS when the server offers it; ``?starttls=require`` (or
``true``) insists on it and ``?starttls=off`` (or ``false``) never tries. ``smtps://`` speaks
TLS from the first byte.

The ``Message-ID`` is derived from the idempotency key, so a message sent again after a crash
carries the same id and a receiving system that deduplicates on it shows it once.
Permanent SMTP replies (5xx) are not retried; transient ones (4xx), timeouts and connection
failures are.

Marketing email is lawful only with a way out: a marketing message without a
``List-Unsubscribe`` header (the dispatcher adds it, with ``List-Unsubscribe-Post``, when
the server's public URL and links secret are set) is refused, not sent.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from juncture.channels import email_html
from juncture.channels.base import (
    ChannelMisconfigured,
    Content,
    DeliveryResult,
    Now,
    OutboundMessage,
)

STARTTLS = {"auto": None, "require": True, "true": True, "off": False, "false": False}
NO_WAY_OUT = (
    "email: marketing without an unsubscribe link "
    "(set JUNCTURE_PUBLIC_URL and JUNCTURE_LINKS_SECRET)"
)


@dataclass(frozen=True, slots=True)
class SmtpServer:
    hostname: str
    port: int
    username: str | None = None
    password: str | None = None
    use_tls: bool = False
    start_tls: bool | None = None


def parse_smtp_url(url: str) -> SmtpServer:
    """``smtp://user:pass@host:587?starttls=require`` -> :class:`SmtpServer`."""
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ChannelMisconfigured("the SMTP URL must look like smtp://[user:pass@]host:port")
    mode = parse_qs(parts.query).get("starttls", ["auto"])[0].lower()
    if mode not in STARTTLS or (parts.scheme == "smtps" and STARTTLS[mode]):
        raise ChannelMisconfigured(f"starttls must be one of {sorted(STARTTLS)} on smtp://")
    tls = parts.scheme == "smtps"
    return SmtpServer(
        hostname=parts.hostname,
        port=parts.port or (465 if tls else 25),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        use_tls=tls,
        start_tls=False if tls else STARTTLS[mode],
    )


def message_id(idempotency_key: str, domain: str) -> str:
    """The same key gives the same ``Message-ID``, whichever attempt sends it."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]
    return f"<{digest}@{domain}>"


class SmtpEmail:
    """The email channel. ``sender`` is the From address (``Shop <news@shop.example>``);
    ``now`` (the runtime's clock) dates each message."""

    def __init__(
        self,
        url: str,
        *,
        sender: str,
        timeout: float = 30.0,
        now: Now,
    ) -> None:
        self.server = parse_smtp_url(url)
        if "@" not in sender:
            raise ChannelMisconfigured("the email sender must be an address")
        self.sender = sender
        self.domain = sender.rsplit("@", 1)[1].strip(" >")
        self.timeout = timeout
        self._now = now

    def build(self, message: OutboundMessage) -> EmailMessage:
        """The MIME message: text (made from the HTML when the template has none), and the
        HTML, its styles inlined, as the alternative when there is one."""
        to = message.recipient("email")
        content = message.content or Content()
        mail = EmailMessage()
        mail["From"] = self.sender
        mail["To"] = Address(addr_spec=to) if to else ""
        mail["Subject"] = content.subject
        mail["Message-ID"] = message_id(message.idempotency_key, self.domain)
        mail["Date"] = format_datetime(self._now())
        for name, value in message.headers.items():
            mail[name] = value
        mail.set_content(content.text or email_html.text_of(content.html) or " ")
        if content.html:
            mail.add_alternative(email_html.inline(content.html), subtype="html")
        return mail

    async def send(self, message: OutboundMessage) -> DeliveryResult:
        to = message.recipient("email")
        if to is None:
            return DeliveryResult.failed("email: no recipient address", retryable=False)
        if message.purpose == "marketing" and "List-Unsubscribe" not in message.headers:
            return DeliveryResult.failed(NO_WAY_OUT, retryable=False)
        try:
            mail = self.build(message)
        except (ValueError, IndexError) as exc:  # the email package's parser errors
            return DeliveryResult.failed(f"email: invalid address: {exc}", retryable=False)
        return await self._deliver(mail, to, mail["Message-ID"])

    async def _deliver(self, mail: EmailMessage, to: str, mid: str) -> DeliveryResult:
        s = self.server
        try:
            await aiosmtplib.send(
                mail,
                recipients=[to],
                hostname=s.hostname,
                port=s.port,
                username=s.username,
                password=s.password,
                use_tls=s.use_tls,
                start_tls=s.start_tls,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            return _refused(min(codes) if codes else 550, "recipient refused")
        except aiosmtplib.SMTPResponseException as exc:
            return _refused(exc.code, exc.message)
        except (aiosmtplib.SMTPException, OSError) as exc:
            return DeliveryResult.failed(f"smtp: {type(exc).__name__}: {exc}", retryable=True)
        return DeliveryResult.sent(status_code=250, provider_id=mid)


def _refused(code: int, text: str) -> DeliveryResult:
    permanent = 500 <= code < 600
    kind = "permanent" if permanent else "transient"
    return DeliveryResult.failed(
        f"smtp {kind} {code}: {text}", retryable=not permanent, status_code=code
    )
