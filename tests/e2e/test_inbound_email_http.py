"""Bounces and complaints, end to end: Segment's Python client drives the shipped cart and
post-purchase journeys, a real SMTP server receives the mail, and the email provider reports
back over HTTP in its own shape (Amazon SES through SNS, SendGrid, Postmark). A hard bounce
stops every email to the address, even the order confirmation; a complaint stops marketing
and revokes consent while the confirmation still goes; a soft bounce changes nothing. Each
report is recorded against the delivery it is about."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr
from segment.analytics import client as segment_client
from segment.analytics import request as segment_request

from tests.conftest import ADMIN
from tests.e2e.test_library_segment_client import (
    DAY,
    HOUR,
    LIBRARY,
    MINUTE,
    SHOE,
    SOCKS,
    T0,
    DeviceClock,
    Shop,
    outside_holdout,
)
from tests.servers import Mail

TOKEN = "test-inbound-token"


@pytest.fixture
def shop(database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Shop]:
    monkeypatch.setattr(segment_client, "datetime", DeviceClock)
    monkeypatch.setattr(segment_request, "datetime", DeviceClock)
    journeys = [LIBRARY["cart_abandonment"], LIBRARY["post_purchase"]]
    s = Shop(database_url, journeys, inbound_token=SecretStr(TOKEN))
    yield s
    s.close()


def report(shop: Shop, body: Any, token: str = TOKEN) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "text/plain"}  # as SNS
    return httpx.post(f"{shop.server.url}/v1/inbound/email", content=json.dumps(body),
                      headers=headers)  # fmt: skip


def ses(kind: str, mail: Mail, **detail: Any) -> dict[str, Any]:
    """An SNS notification carrying an SES bounce or complaint about ``mail``."""
    address = mail.recipients[0]
    message: dict[str, Any] = {
        "notificationType": kind,
        "mail": {"messageId": "0100018c-ses-id", "commonHeaders": {
            "messageId": str(mail.message["Message-ID"]), "to": [address]}},
    }  # fmt: skip
    if kind == "Bounce":
        recipients = [{"emailAddress": address, "diagnosticCode": "smtp; 550 5.1.1 unknown"}]
        message["bounce"] = {"bounceType": detail.get("type", "Permanent"),
                             "bouncedRecipients": recipients}  # fmt: skip
    else:
        message["complaint"] = {"complainedRecipients": [{"emailAddress": address}]}
    return {"Type": "Notification", "MessageId": "sns-1", "Message": json.dumps(message)}


def cart_reminder(shop: Shop, user: str, at: Any) -> Mail:
    shop.identify(at, user)
    shop.track(at + MINUTE, user, "Product Added", cart_id=f"c-{user}", **SHOE)
    shop.advance(at + 2 * HOUR)
    [mail] = shop.mails(user)
    return mail


def order(shop: Shop, user: str, at: Any) -> None:
    shop.track(at, user, "Order Completed", order_id=f"o-{user}", total=12.0, revenue=12.0,
               currency="EUR", products=[SOCKS])  # fmt: skip
    shop.advance(at + 10 * MINUTE)


def delivery(shop: Shop, user: str, node: str) -> dict[str, Any]:
    """The first delivery of ``node`` to ``user``, read over the deliveries API."""
    row = next(r for r in shop.outbox(user) if r["node_id"] == node)
    r = httpx.get(f"{shop.server.url}/v1/deliveries/{row['id']}", headers=ADMIN)
    assert r.status_code == 200, r.text
    found: dict[str, Any] = r.json()
    return found


def test_a_hard_bounce_stops_all_email_to_the_address(shop: Shop) -> None:
    ann = outside_holdout("cart_abandonment", "ann")
    reminder = cart_reminder(shop, ann, T0)
    r = report(shop, ses("Bounce", reminder))
    assert r.status_code == 200 and r.json() == {"taken": {"hard_bounce": 1}}, r.text
    [said] = delivery(shop, ann, "reminder")["feedback"]
    assert (said["kind"], said["channel"]) == ("hard_bounce", "email")
    assert "550 5.1.1" in said["detail"]

    order(shop, ann, T0 + 3 * HOUR)
    assert len(shop.mails(ann)) == 1  # not even the order confirmation
    confirmation = delivery(shop, ann, "confirmation")
    assert (confirmation["status"], confirmation["reason"]) == (
        "suppressed",
        "suppressed:hard_bounce",
    )
    events = httpx.get(f"{shop.server.url}/v1/events", params={"userId": ann}, headers=ADMIN)
    assert [e["event"] for e in events.json()["events"] if e.get("event") == "Email Bounced"] == [
        "Email Bounced"
    ]


def test_a_complaint_stops_marketing_but_not_the_order_confirmation(shop: Shop) -> None:
    bob = outside_holdout("cart_abandonment", "bob")
    reminder = cart_reminder(shop, bob, T0)
    sendgrid = [
        {"email": bob + "@example.com", "event": "delivered", "smtp-id": "<x@y>"},
        {"email": bob + "@example.com", "event": "spamreport",
         "smtp-id": str(reminder.message["Message-ID"]), "sg_event_id": "e1"},
    ]  # fmt: skip
    r = report(shop, sendgrid)
    assert r.status_code == 200 and r.json() == {"taken": {"complaint": 1}}, r.text
    order(shop, bob, T0 + 3 * HOUR)
    shop.track(T0 + 4 * HOUR, bob, "Product Added", cart_id="c-2", **SHOE)
    shop.advance(T0 + 20 * DAY)
    subjects = [str(m.message["Subject"]) for m in shop.mails(bob)]
    assert len(subjects) == 2 and "order" in subjects[1].lower(), subjects  # confirmation
    tips = delivery(shop, bob, "tips")
    assert tips["status"] == "suppressed" and tips["reason"] in (
        "no_consent:email:marketing",
        "suppressed:complaint",
    )
    [said] = delivery(shop, bob, "reminder")["feedback"]
    assert said["kind"] == "complaint"


def test_a_soft_bounce_is_recorded_and_changes_nothing(shop: Shop) -> None:
    cy = outside_holdout("cart_abandonment", "cy")
    reminder = cart_reminder(shop, cy, T0)
    postmark = {"RecordType": "Bounce", "Type": "SoftBounce", "Email": reminder.recipients[0],
                "MessageID": "pm-1", "Description": "mailbox full"}  # fmt: skip
    assert report(shop, postmark).json() == {"taken": {"soft_bounce": 1}}
    order(shop, cy, T0 + 3 * HOUR)
    assert len(shop.mails(cy)) == 2  # the reminder, then the confirmation
    [said] = delivery(shop, cy, "reminder")["feedback"]
    assert (said["kind"], said["detail"]) == ("soft_bounce", "mailbox full")


def test_reports_need_the_token_and_a_known_shape(shop: Shop) -> None:
    body = {"RecordType": "SpamComplaint", "Email": "x@example.com"}
    assert report(shop, body, token="wrong").status_code == 401
    r = report(shop, {"hello": "world"})
    assert r.status_code == 400 and r.json()["code"] == "unknown_report"
    bad = httpx.post(f"{shop.server.url}/v1/inbound/email", content=b"{",
                     headers={"Authorization": f"Bearer {TOKEN}"})  # fmt: skip
    assert bad.status_code == 400
    confirm = {"Type": "SubscriptionConfirmation", "SubscribeURL": "https://sns.example/x"}
    assert report(shop, confirm).status_code == 200  # not fetched: a person confirms
    assert report(shop, body).json() == {"taken": {"complaint": 1}}  # no delivery: suppressed
