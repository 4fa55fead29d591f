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
from typing import Any, Final

import msgspec
import orjson

from juncture.core import messages
from juncture.runtime.clock import Clock
from juncture.runtime.ingest import Ingestor
from juncture.store.recipients import Addressee, Recipients

SOURCE: Final = "messages"  # the source the events are stored under
STOP_WORDS: Final = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"})
START_WORDS: Final = frozenset({"START", "UNSTOP", "SUBSCRIBE"})


def keyword(body: str) -> str | None:
    """``stop`` or ``start`` when an SMS reply is one of the carriers' keywords (alone, any
    case, trailing punctuation ignored), else None.

    >>> keyword(" Stop! "), keyword("unstop"), keyword("please stop texting me")
    ('stop', 'start', None)
    """
    word = body.strip().rstrip(".!").upper()
    if word in STOP_WORDS:
        return "stop"
    return "start" if word in START_WORDS else None


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

    async def sms_reply(self, phone: str, body: str, provider_id: str = "") -> str | None:
        """An inbound SMS from ``phone`` (E.164): a STOP keyword suppresses SMS marketing to
        the number and revokes the consent of the profile last texted there; START lifts it
        and grants it again. Answers the keyword (``stop``, ``start``) or None."""
        word = keyword(body)
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
        if who is not None:
            props = {"channel": "sms", "purpose": "marketing", "granted": word == "start"}
            key = f"sms-{word}:{provider_id or now.isoformat()}:{delivery}"
            await self._tell(who, "Consent Updated", key, props)
        return word

    async def _tell(self, who: Addressee, event: str, key: str, props: dict[str, Any]) -> None:
        """A track event on the profile ``who`` names (nothing once it was erased)."""
        if who.identifier is None:
            return
        kind, _, name = who.identifier.partition(":")
        extra = {"email_id": str(who.outbox_id), "journey_id": who.journey_id}
        message = {
            "type": "track",
            "event": event,
            "userId" if kind == "user_id" else "anonymousId": name,
            "messageId": key,
            "timestamp": self.clock.now().isoformat(),
            "properties": {**props, **{k: v for k, v in extra.items() if v is not None}},
        }
        raw = [msgspec.Raw(orjson.dumps(message))]
        envelope = messages.Envelope(messages=raw, path_prefix="$", single=False)
        await self.ingestor.ingest(envelope, SOURCE)
