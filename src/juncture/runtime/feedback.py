"""What recipients and providers say about messages, turned into what Juncture acts on.

An unsubscribe, an SMS STOP, a complaint, a click or an open is recorded against its
delivery (``delivery_feedback``) and becomes a track event on the recipient's profile
through the same ingestion as the shoppers' own events (source ``messages``), so consent
changes flow through the profile like any other statement, and journeys, segments and
measurement see them. Event names are those of Segment's email spec (``Unsubscribed``,
``Email Bounced``, ``Email Marked as Spam``, ``Email Link Clicked``, ``Email Opened``);
each messageId names the delivery and what happened, so a repeated click of the same
unsubscribe button is stored once.

Addresses are suppressed (:class:`~juncture.store.recipients.Recipients`) where the profile
alone would not stop the next message: a hard bounce (nothing reaches the address), a
complaint and an SMS STOP (the number or address may be on several profiles, or none).
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import Sequence
from typing import Any, Final

import msgspec
import orjson

from juncture.channels.email import message_id
from juncture.channels.provider_events import MailReport
from juncture.core import messages
from juncture.core.identity import normalize_email
from juncture.core.profile.consent import sms_keyword
from juncture.runtime.clock import Clock
from juncture.runtime.ingest import Ingestor
from juncture.store.recipients import Addressee, Recipients

SOURCE: Final = "messages"  # the source the events are stored under
# What a provider's report stops: (scope, reason) of the address's suppression.
HOW: Final = {"hard_bounce": ("all", "hard_bounce"), "complaint": ("marketing", "complaint")}


class FeedbackRecorder:
    """Records recipients' answers and tells the profiles."""

    def __init__(self, recipients: Recipients, ingestor: Ingestor, clock: Clock) -> None:
        self.recipients = recipients
        self.ingestor = ingestor
        self.clock = clock

    async def unsubscribe(self, delivery: int) -> Addressee | None:
        """The recipient of ``delivery`` refuses marketing on its channel (the one-click
        unsubscribe). None when the delivery is not known (erased, or never sent)."""
        who = await asyncio.to_thread(self.recipients.addressee, delivery)
        if who is None:
            return None
        now = self.clock.now()
        await asyncio.to_thread(self.recipients.record, delivery, who.channel, "unsubscribe", now)
        props = {"channel": who.channel, "purpose": "marketing"}
        await self._tell(who, "Unsubscribed", f"unsubscribe:{delivery}", props)
        return who

    async def consent(self, who: Addressee, channel: str, purpose: str, granted: bool) -> None:
        """The recipient of ``who``'s delivery changed their choice on the preference page:
        ``Consent Updated`` on the profile; refusing the channel the message came on is an
        unsubscribe from it too (recorded against the delivery)."""
        now = self.clock.now()
        if not granted and channel == who.channel:
            await asyncio.to_thread(
                self.recipients.record, who.outbox_id, channel, "unsubscribe", now, "preferences"
            )
        key = f"preferences:{who.outbox_id}:{channel}:{purpose}:{uuid.uuid4().hex}"
        props = {"channel": channel, "purpose": purpose, "granted": granted,
                 "source": "preferences"}  # fmt: skip
        await self._tell(who, "Consent Updated", key, props)

    async def click(self, delivery: int, url: str) -> None:
        """The recipient of ``delivery`` followed its link to ``url``: recorded, and
        ``Email Link Clicked`` (Segment's email spec) on the profile."""
        await self._engaged(delivery, "click", "Email Link Clicked", {"link_url": url}, url)

    async def open(self, delivery: int) -> None:
        """The open pixel of ``delivery`` was fetched: recorded each time; ``Email Opened``
        on the profile once (repeated opens and image proxies tell nothing new)."""
        await self._engaged(delivery, "open", "Email Opened", {}, "")

    async def _engaged(
        self, delivery: int, kind: str, event: str, props: dict[str, Any], detail: str
    ) -> None:
        who = await asyncio.to_thread(self.recipients.addressee, delivery)
        if who is None:
            return
        now = self.clock.now()
        await asyncio.to_thread(self.recipients.record, delivery, who.channel, kind, now, detail)
        each = f":{now.isoformat()}:{hashlib.sha256(detail.encode()).hexdigest()[:12]}"
        key = f"{kind}:{delivery}" + (each if kind == "click" else "")
        await self._tell(who, event, key, {**props, "node_id": who.node_id})

    async def sms_reply(self, phone: str, body: str, provider_id: str = "") -> str | None:
        """An inbound SMS from ``phone`` (E.164): a STOP keyword suppresses SMS marketing to
        the number and tells the profile last texted there ``SMS Replied`` (its consent
        follows: :func:`~juncture.core.profile.consent.sms_keyword`); START lifts it and
        grants it again. Answers the keyword (``stop``, ``start``) or None."""
        word = sms_keyword(body)
        if word is None:
            return None
        now = self.clock.now()
        if word == "stop":
            await asyncio.to_thread(
                self.recipients.suppress, "sms", phone, scope="marketing", reason="stop", at=now
            )
        else:
            await asyncio.to_thread(self.recipients.lift, "sms", phone)
        delivery = await asyncio.to_thread(self.recipients.last_delivery_to, "sms", "phone", phone)
        await asyncio.to_thread(self.recipients.record, delivery, "sms", word, now, provider_id)
        who = (
            None
            if delivery is None
            else await asyncio.to_thread(self.recipients.addressee, delivery)
        )
        if who is not None:  # the reply itself: the profile's consent follows it
            key = f"sms-{word}:{provider_id or now.isoformat()}:{delivery}"
            await self._tell(who, "SMS Replied", key, {"body": body.strip()})
        return word

    async def mail_reports(self, reports: Sequence[MailReport]) -> dict[str, int]:
        """Bounces and complaints from an email provider: a hard bounce stops all email to
        the address (``Email Bounced`` on the profile), a complaint stops marketing to it and
        revokes the profile's email marketing consent (``Email Marked as Spam``, ``Consent
        Updated``); a soft bounce is only recorded. Answers how many of each were taken."""
        taken: dict[str, int] = {}
        for report in reports:
            address = normalize_email(report.address)
            if address is None:
                continue
            await self._mail_report(report, address)
            taken[report.kind] = taken.get(report.kind, 0) + 1
        return taken

    async def _mail_report(self, report: MailReport, address: str) -> None:
        now = self.clock.now()
        delivery = await asyncio.to_thread(self._delivery, report, address)
        if report.kind != "soft_bounce":
            scope, reason = HOW[report.kind]
            await asyncio.to_thread(
                self.recipients.suppress, "email", address, scope=scope, reason=reason, at=now,
                outbox_id=delivery,
            )  # fmt: skip
        await asyncio.to_thread(
            self.recipients.record, delivery, "email", report.kind, now, report.detail
        )
        who = (
            None
            if delivery is None
            else await asyncio.to_thread(self.recipients.addressee, delivery)
        )
        if who is None or report.kind == "soft_bounce":
            return
        if report.kind == "hard_bounce":
            await self._tell(who, "Email Bounced", f"bounce:{delivery}", {"permanent": True})
            return
        await self._tell(who, "Email Marked as Spam", f"complaint:{delivery}", {})
        props = {"channel": "email", "purpose": "marketing", "granted": False}
        await self._tell(who, "Consent Updated", f"complaint-consent:{delivery}", props)

    def _delivery(self, report: MailReport, address: str) -> int | None:
        """The delivery a report is about: the one to the address whose ``Message-ID`` the
        report names, else the latest to the address."""
        found = self.recipients.deliveries_to("email", "email", report.address)
        if not found and address != report.address:
            found = self.recipients.deliveries_to("email", "email", address)
        wanted = (report.message_id or "").strip(" <>")
        for outbox_id, key in found:
            if wanted and message_id(key, wanted.partition("@")[2]).strip("<>") == wanted:
                return outbox_id
        return found[0][0] if found else None

    async def _tell(self, who: Addressee, event: str, key: str, props: dict[str, Any]) -> None:
        """A track event on the profile ``who`` names (nothing once it was erased)."""
        if who.identifier is None:
            return
        extra = {"email_id": str(who.outbox_id), "journey_id": who.journey_id}
        props = {**props, **{k: v for k, v in extra.items() if v is not None}}
        at = self.clock.now().isoformat()
        message = track(who.identifier, event, key, at, props)
        await self.ingestor.ingest(envelope([message]), SOURCE)


def track(
    identifier: str, event: str, key: str, at: str, properties: dict[str, Any]
) -> dict[str, Any]:
    """A Segment track message for the profile ``identifier`` names (``user_id:...`` or
    ``anonymous_id:...``), with messageId ``key``."""
    kind, _, name = identifier.partition(":")
    return {
        "type": "track",
        "event": event,
        "userId" if kind == "user_id" else "anonymousId": name,
        "messageId": key,
        "timestamp": at,
        "properties": properties,
    }


def envelope(found: Sequence[dict[str, Any]]) -> messages.Envelope:
    """Messages made here, as ingestion takes a batch."""
    raw = [msgspec.Raw(orjson.dumps(message)) for message in found]
    return messages.Envelope(messages=raw, path_prefix="$", single=False)
