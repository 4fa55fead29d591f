"""What email providers report about delivered mail, read from their webhooks' shapes into
one form (:class:`MailReport`): a hard or soft bounce, or a complaint (the recipient marked
the mail as spam), for an address, with the mail's ``Message-ID`` when the provider gives it.

Shapes read (anything else in a body is ignored, a body with none of them is refused):

- Amazon SES through SNS: ``{"Type": "Notification", "Message": "<JSON>"}`` whose message
  has ``notificationType`` ``Bounce`` (``bounce.bounceType`` ``Permanent`` is hard) or
  ``Complaint``, the recipients, and ``mail.commonHeaders.messageId`` or ``mail.messageId``;
- SendGrid's event webhook: a list of ``{"event": "bounce" | "dropped" | "spamreport",
  "email", "type", "reason", "smtp-id"}`` (``type: blocked`` is a soft bounce);
- Postmark: ``{"RecordType": "Bounce", "Type": "HardBounce" | "SoftBounce" | ..., "Email",
  "MessageID", "Description"}`` and ``{"RecordType": "SpamComplaint", "Email"}``;
- Mailgun: ``{"event-data": {"event": "failed" | "complained", "severity": "permanent" |
  "temporary", "recipient", "message": {"headers": {"message-id"}}}}``;
- plain JSON: ``{"type": "bounce" | "complaint", "email", "permanent", "message_id"}`` or a
  list of them.

>>> [r.kind for r in read({"RecordType": "Bounce", "Type": "HardBounce", "Email": "a@b.example"})]
['hard_bounce']
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

Kind = Literal["hard_bounce", "soft_bounce", "complaint"]
MAX_REPORTS: Final = 1000  # per call; providers batch far fewer


class UnknownShape(ValueError):
    """A body in none of the shapes read here."""


@dataclass(frozen=True, slots=True)
class MailReport:
    kind: Kind
    address: str
    message_id: str | None = None
    detail: str = ""


def read(body: object) -> list[MailReport]:
    """Every report in a provider's webhook body; raises :class:`UnknownShape`."""
    items = body if isinstance(body, list) else [body]
    found: list[MailReport] = []
    for item in items[:MAX_REPORTS]:
        if not isinstance(item, Mapping):
            raise UnknownShape("each report is an object")
        found.extend(_one(item))
    return found


def _one(item: Mapping[str, Any]) -> Iterator[MailReport]:
    if item.get("Type") == "Notification" and isinstance(item.get("Message"), str):
        yield from _ses(json.loads(item["Message"]))
    elif "notificationType" in item:
        yield from _ses(item)
    elif "RecordType" in item:
        yield from _postmark(item)
    elif isinstance(item.get("event-data"), Mapping):
        yield from _mailgun(item["event-data"])
    elif "event" in item and "email" in item:
        yield from _sendgrid(item)
    elif item.get("type") in ("bounce", "complaint") and isinstance(item.get("email"), str):
        kind: Kind = "complaint" if item["type"] == "complaint" else _bounce(item.get("permanent"))
        yield MailReport(
            kind, item["email"], _text(item.get("message_id")), _text(item.get("reason")) or ""
        )
    else:
        raise UnknownShape("not a bounce or complaint of SES, SendGrid, Postmark or Mailgun")


def _ses(message: Mapping[str, Any]) -> Iterator[MailReport]:
    mail = message.get("mail") or {}
    headers = mail.get("commonHeaders") or {}
    mid = _text(headers.get("messageId")) or _text(mail.get("messageId"))
    kind = message.get("notificationType")
    if kind == "Bounce":
        bounce = message.get("bounce") or {}
        hard: Kind = "hard_bounce" if bounce.get("bounceType") == "Permanent" else "soft_bounce"
        for r in bounce.get("bouncedRecipients") or []:
            yield MailReport(
                hard, str(r.get("emailAddress", "")), mid, _text(r.get("diagnosticCode")) or ""
            )
    elif kind == "Complaint":
        for r in (message.get("complaint") or {}).get("complainedRecipients") or []:
            yield MailReport("complaint", str(r.get("emailAddress", "")), mid)


def _postmark(item: Mapping[str, Any]) -> Iterator[MailReport]:
    email, mid = str(item.get("Email", "")), _text(item.get("MessageID"))
    if item["RecordType"] == "SpamComplaint":
        yield MailReport("complaint", email, mid)
    elif item["RecordType"] == "Bounce":
        hard = item.get("Type") in ("HardBounce", "BadEmailAddress", "ManuallyDeactivated")
        yield MailReport(_bounce(hard), email, mid, _text(item.get("Description")) or "")


def _mailgun(data: Mapping[str, Any]) -> Iterator[MailReport]:
    headers = (data.get("message") or {}).get("headers") or {}
    email, mid = str(data.get("recipient", "")), _text(headers.get("message-id"))
    if data.get("event") == "complained":
        yield MailReport("complaint", email, mid)
    elif data.get("event") == "failed":
        status = data.get("delivery-status") or {}
        detail = _text(status.get("description")) or _text(status.get("message")) or ""
        yield MailReport(_bounce(data.get("severity") == "permanent"), email, mid, detail)


def _sendgrid(item: Mapping[str, Any]) -> Iterator[MailReport]:
    email, mid = str(item.get("email", "")), _text(item.get("smtp-id"))
    if item["event"] == "spamreport":
        yield MailReport("complaint", email, mid)
    elif item["event"] in ("bounce", "dropped"):
        hard = item.get("type") != "blocked"
        yield MailReport(_bounce(hard), email, mid, _text(item.get("reason")) or "")


def _bounce(hard: object) -> Kind:
    return "hard_bounce" if hard is True else "soft_bounce"


def _text(value: object) -> str | None:
    return value[:500] if isinstance(value, str) and value else None
