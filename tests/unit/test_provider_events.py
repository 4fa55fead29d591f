"""Email providers' webhook bodies read into one form: each shape's bounces (hard or soft)
and complaints, with the address and the Message-ID; other events ignored; other bodies
refused."""

from __future__ import annotations

import json

import pytest

from juncture.channels import provider_events as pe
from juncture.channels.provider_events import MailReport

MID = "<3f2a@shop.example>"


def test_ses_through_sns() -> None:
    bounce = {"notificationType": "Bounce", "mail": {"commonHeaders": {"messageId": MID}},
              "bounce": {"bounceType": "Transient", "bouncedRecipients": [
                  {"emailAddress": "a@x.example", "diagnosticCode": "452 full"}]}}  # fmt: skip
    body = {"Type": "Notification", "Message": json.dumps(bounce)}
    assert pe.read(body) == [MailReport("soft_bounce", "a@x.example", MID, "452 full")]
    delivered = {"Type": "Notification", "Message": json.dumps({"notificationType": "Delivery"})}
    assert pe.read(delivered) == []


def test_sendgrid_batches() -> None:
    body = [
        {"email": "a@x.example", "event": "bounce", "type": "bounce", "reason": "550"},
        {"email": "b@x.example", "event": "bounce", "type": "blocked", "reason": "421"},
        {"email": "c@x.example", "event": "spamreport", "smtp-id": MID},
        {"email": "d@x.example", "event": "open"},
    ]
    assert [(r.kind, r.address) for r in pe.read(body)] == [
        ("hard_bounce", "a@x.example"),
        ("soft_bounce", "b@x.example"),
        ("complaint", "c@x.example"),
    ]


def test_postmark_and_mailgun() -> None:
    postmark = {"RecordType": "SpamComplaint", "Email": "a@x.example", "MessageID": "pm"}
    assert pe.read(postmark) == [MailReport("complaint", "a@x.example", "pm")]
    failed = {"event-data": {"event": "failed", "severity": "permanent", "recipient":
              "b@x.example", "message": {"headers": {"message-id": MID}},
              "delivery-status": {"description": "No such user"}}}  # fmt: skip
    assert pe.read(failed) == [MailReport("hard_bounce", "b@x.example", MID, "No such user")]
    complained = {"event-data": {"event": "complained", "recipient": "c@x.example"}}
    assert [r.kind for r in pe.read(complained)] == ["complaint"]


def test_plain_json() -> None:
    body = {"type": "bounce", "email": "a@x.example", "permanent": True, "message_id": MID}
    assert pe.read(body) == [MailReport("hard_bounce", "a@x.example", MID)]


@pytest.mark.parametrize("body", [{"hello": 1}, [1], "text", {"type": "bounce"}])
def test_other_bodies_are_refused(body: object) -> None:
    with pytest.raises(pe.UnknownShape):
        pe.read(body)
