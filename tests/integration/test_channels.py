"""Each channel against a real server on a loopback port: SMTP (aiosmtpd) for email, local
HTTP servers for webhooks, SMS (generic JSON and Twilio's Messages API shape) and push."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import urllib.parse
from collections.abc import Iterator
from typing import Any

import orjson
import pytest

from juncture.channels import webhook
from juncture.channels.base import ChannelMisconfigured, DeliveryResult, OutboundMessage
from juncture.channels.email import SmtpEmail, message_id, parse_smtp_url
from juncture.channels.links import Links
from juncture.channels.push import JsonPush
from juncture.channels.sms import JsonSms, TwilioSms
from juncture.channels.targets import TargetPolicy
from juncture.channels.templates import TemplateError, Templates
from tests.servers import Answer, HttpRecorder, SmtpSink

LOOPBACK = TargetPolicy.parse("127.0.0.1")  # the test servers listen there
NOW = dt.datetime(2026, 3, 2, 10, 0, tzinfo=dt.UTC)
CART = {
    "currency": "EUR",
    "items": [
        {"product_id": "p1", "name": "Trail Shoe", "quantity": 2, "price": 59.5},
        {"product_id": "p2", "name": "Socks <3-pack>", "quantity": 1, "price": 9},
    ],
}


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


LINKS = Links("test-links-secret", "https://juncture.test")


@pytest.fixture
def http() -> Iterator[HttpRecorder]:
    server = HttpRecorder().start()
    yield server
    server.stop()


def message(
    channel: str, payload: dict[str, Any], template: str | None = None, key: str = "j:1:e1:n1:0"
) -> OutboundMessage:
    content = None
    if template is not None:
        content = Templates().render(template, payload)
    return OutboundMessage(
        outbox_id=1,
        idempotency_key=key,
        channel=channel,
        purpose="marketing",
        template=template,
        payload=payload,
        content=content,
        headers=LINKS.unsubscribe_headers(1) if channel == "email" else {},  # lawful marketing
    )


def send_all(channel: Any, *msgs: OutboundMessage) -> list[DeliveryResult]:
    """Send in order on one event loop, then close the channel's HTTP client."""

    async def go() -> list[DeliveryResult]:
        try:
            return [await channel.send(m) for m in msgs]
        finally:
            if hasattr(channel, "aclose"):
                await channel.aclose()

    return asyncio.run(go())


def send(channel: Any, msg: OutboundMessage) -> DeliveryResult:
    return send_all(channel, msg)[0]


# --- email ---------------------------------------------------------------------------


def test_email_renders_cart_recovery_and_arrives_over_smtp(smtp: SmtpSink) -> None:
    payload = {
        "recipient": {"email": "ada@example.com"},
        "profile": {"first_name": "Ada"},
        "event": {"event": "Product Added"},
        "cart": CART,
    }
    channel = SmtpEmail(smtp.url, sender="Shop <news@shop.example>", now=lambda: NOW)
    result = send(channel, message("email", payload, "cart_recovery", key="k-42"))
    assert result.ok, result.error
    [mail] = smtp.wait_for(1)
    assert mail.recipients == ["ada@example.com"]
    assert mail.message["Subject"] == "You left 2 items in your basket"
    assert mail.message["Message-ID"] == message_id("k-42", "shop.example")
    assert result.provider_id == mail.message["Message-ID"]
    text = mail.part("plain")
    assert "Hi Ada," in text
    assert "- Trail Shoe x 2 @ 59.50" in text
    assert "Total: 128.00 EUR" in text
    html = mail.part("html")
    assert ">Socks &lt;3-pack&gt;</td>" in html  # the HTML body is escaped
    assert "Return to your basket" not in html


def test_same_key_gives_same_message_id_and_other_key_another(smtp: SmtpSink) -> None:
    payload = {"recipient": {"email": "ada@example.com"}, "profile": {}}
    channel = SmtpEmail(smtp.url, sender="news@shop.example", now=lambda: NOW)
    for key in ("k1", "k1", "k2"):
        assert send(channel, message("email", payload, "welcome", key=key)).ok
    ids = [m.message["Message-ID"] for m in smtp.wait_for(3)]
    assert ids[0] == ids[1] != ids[2]
    assert smtp.mails[0].message["Subject"] == "Welcome, friend!"


def test_smtp_permanent_refusal_is_not_retried_and_transient_is(smtp: SmtpSink) -> None:
    smtp.refuse["gone@example.com"] = "550 5.1.1 mailbox unavailable"
    smtp.refuse["busy@example.com"] = "451 4.3.0 try again later"
    channel = SmtpEmail(smtp.url, sender="news@shop.example", now=lambda: NOW)
    gone = send(channel, message("email", {"email": "gone@example.com"}, "welcome"))
    busy = send(channel, message("email", {"email": "busy@example.com"}, "welcome"))
    assert (gone.ok, gone.retryable, gone.status_code) == (False, False, 550)
    assert (busy.ok, busy.retryable, busy.status_code) == (False, True, 451)
    assert "gone@example.com" not in (gone.error or "")
    assert smtp.mails == []


def test_smtp_unreachable_is_retryable_and_no_address_is_not() -> None:
    from juncture.testing import free_port

    channel = SmtpEmail(
        f"smtp://127.0.0.1:{free_port()}", sender="a@b.example", timeout=2, now=lambda: NOW
    )
    down = send(channel, message("email", {"email": "ada@example.com"}, "welcome"))
    assert (down.ok, down.retryable) == (False, True)
    nobody = send(channel, message("email", {"profile": {}}, "welcome"))
    assert (nobody.ok, nobody.retryable) == (False, False)


def test_smtp_url_parsing() -> None:
    server = parse_smtp_url("smtp://us%40er:p%3Ass@mail.example:2525?starttls=require")
    assert (server.hostname, server.port, server.username, server.password) == (
        "mail.example",
        2525,
        "us@er",
        "p:ss",
    )
    assert server.start_tls is True
    assert parse_smtp_url("smtps://mail.example").port == 465
    assert parse_smtp_url("smtp://mail.example?starttls=true").start_tls is True
    assert parse_smtp_url("smtp://mail.example?starttls=false").start_tls is False
    for bad in ("http://mail.example", "smtp://", "smtp://h?starttls=maybe"):
        with pytest.raises(ChannelMisconfigured):
            parse_smtp_url(bad)


def test_template_errors_name_the_part() -> None:
    with pytest.raises(TemplateError, match="unknown template"):
        Templates().render("no_such_template", {})
    with pytest.raises(TemplateError, match="subject"):
        Templates().render(None, {}, inline={"subject": "{{ profle.first_name }}"})


# --- webhook -------------------------------------------------------------------------


def test_webhook_is_signed_so_the_receiver_can_verify(http: HttpRecorder) -> None:
    channel = webhook.Webhook(secret="s3cret", now=lambda: NOW, targets=LOOPBACK)
    payload = {"url": http.url + "/hook", "profile_id": "p1", "cart": CART}
    result = send(channel, message("webhook", payload, key="wk-1"))
    assert result.ok and result.status_code == 200
    [req] = http.requests
    assert req.path == "/hook"
    assert req.headers["idempotency-key"] == "wk-1"
    stamp = req.headers["x-juncture-timestamp"]
    assert stamp == str(int(NOW.timestamp()))
    signature = req.headers["x-juncture-signature"]
    now = NOW.timestamp() + 5
    assert webhook.verify("s3cret", stamp, req.body, signature, now=now)
    assert not webhook.verify("wrong", stamp, req.body, signature, now=now)
    assert not webhook.verify("s3cret", stamp, req.body + b" ", signature, now=now)
    assert not webhook.verify("s3cret", stamp, req.body, signature, now=now + 3600)
    body = orjson.loads(req.body)
    assert body["idempotency_key"] == "wk-1"
    assert body["cart"]["items"][0]["name"] == "Trail Shoe"


def test_webhook_retry_on_5xx_and_429_not_on_4xx(http: HttpRecorder) -> None:
    http.script = [Answer(503, b"down"), Answer(429), Answer(400, b'{"error":"bad"}')]
    channel = webhook.Webhook(secret="s", now=lambda: NOW, targets=LOOPBACK)
    results = send_all(channel, *[message("webhook", {"url": http.url})] * 3)
    assert [(r.ok, r.retryable, r.status_code) for r in results] == [
        (False, True, 503),
        (False, True, 429),
        (False, False, 400),
    ]
    assert results[2].error == "webhook: HTTP 400"  # the target's body is not kept
    assert {r.headers["idempotency-key"] for r in http.requests} == {"j:1:e1:n1:0"}


def test_webhook_timeout_is_retryable(http: HttpRecorder) -> None:
    http.script = [Answer(200, delay=1.0)]
    result = send(
        webhook.Webhook(secret="s", timeout=0.2, now=lambda: NOW, targets=LOOPBACK),
        message("webhook", {"url": http.url}),
    )
    assert (result.ok, result.retryable) == (False, True)
    assert "timed out" in (result.error or "")


def test_webhook_without_url_or_unreachable() -> None:
    from juncture.testing import free_port

    channel = webhook.Webhook(secret="s", now=lambda: NOW, targets=LOOPBACK)
    missing = send(channel, message("webhook", {}))
    assert (missing.ok, missing.retryable) == (False, False)
    down = send(
        webhook.Webhook(secret="s", now=lambda: NOW, targets=LOOPBACK),
        message("webhook", {"url": f"http://127.0.0.1:{free_port()}"}),
    )
    assert (down.ok, down.retryable) == (False, True)


def test_webhooks_to_loopback_private_or_metadata_addresses_are_refused(
    http: HttpRecorder,
) -> None:
    """A journey's webhook cannot reach Juncture's own loopback, the private network or a
    cloud metadata address unless allowed; nothing is sent to a refused target."""
    channel = webhook.Webhook(secret="s", now=lambda: NOW)
    targets = [
        http.url + "/hook",  # loopback, where a real server listens
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.7/admin",
        "http://[::1]:9/",
        "http://localhost:9/",
        "file:///etc/passwd",
    ]
    results = send_all(channel, *[message("webhook", {"url": url}) for url in targets])
    assert [(r.ok, r.retryable) for r in results] == [(False, False)] * len(targets)
    assert all("refused target" in (r.error or "") for r in results)
    assert http.requests == []
    allowed = webhook.Webhook(secret="s", now=lambda: NOW, targets=TargetPolicy.parse("localhost"))
    host = http.url.replace("127.0.0.1", "localhost") + "/hook"
    assert send(allowed, message("webhook", {"url": host})).ok
    assert len(http.requests) == 1


# --- SMS -----------------------------------------------------------------------------

SMS_PAYLOAD = {
    "recipient": {"phone": "+4930123456"},
    "profile": {"first_name": "Ada"},
    "cart": CART,
}


def test_json_sms_provider(http: HttpRecorder) -> None:
    http.script = [Answer(201, b'{"id": "m-1"}')]
    channel = JsonSms(http.url + "/sms", sender="SHOP", token="tok")
    result = send(channel, message("sms", SMS_PAYLOAD, "cart_recovery", key="sms-1"))
    assert (result.ok, result.provider_id) == (True, "m-1")
    [req] = http.requests
    assert req.headers["authorization"] == "Bearer tok"
    assert req.headers["idempotency-key"] == "sms-1"
    body = json.loads(req.body)
    assert (body["to"], body["from"], body["idempotency_key"]) == ("+4930123456", "SHOP", "sms-1")
    assert "Trail Shoe x 2" in body["body"]


def test_json_sms_needs_a_phone_and_maps_errors(http: HttpRecorder) -> None:
    no_phone = send(JsonSms(http.url, sender="S"), message("sms", {"profile": {}}, "welcome"))
    assert (no_phone.ok, no_phone.retryable) == (False, False)
    http.script = [Answer(500), Answer(422, b'{"error": "invalid number"}')]
    five = send(JsonSms(http.url, sender="S"), message("sms", SMS_PAYLOAD, "welcome"))
    four = send(JsonSms(http.url, sender="S"), message("sms", SMS_PAYLOAD, "welcome"))
    assert (five.retryable, four.retryable) == (True, False)
    assert len(http.requests) == 2


def test_twilio_shape(http: HttpRecorder) -> None:
    http.script = [Answer(201, b'{"sid": "SM123", "status": "queued"}')]
    channel = TwilioSms(account_sid="AC42", auth_token="tok", sender="+15550001", base_url=http.url)
    result = send(channel, message("sms", SMS_PAYLOAD, "welcome"))
    assert (result.ok, result.provider_id, result.status_code) == (True, "SM123", 201)
    [req] = http.requests
    assert req.path == "/2010-04-01/Accounts/AC42/Messages.json"
    assert req.headers["content-type"] == "application/x-www-form-urlencoded"
    assert req.headers["authorization"] == "Basic " + base64.b64encode(b"AC42:tok").decode()
    form = urllib.parse.parse_qs(req.body.decode())
    assert form["To"] == ["+4930123456"]
    assert form["From"] == ["+15550001"]
    assert form["Body"][0].startswith("Hi Ada,")


def test_twilio_errors(http: HttpRecorder) -> None:
    error = b'{"code": 21211, "message": "Invalid To number", "more_info": "", "status": 400}'
    http.script = [Answer(400, error), Answer(503, b"{}"), Answer(429, error)]
    channel = TwilioSms(account_sid="AC1", auth_token="t", sender="+1", base_url=http.url)
    results = send_all(channel, *[message("sms", SMS_PAYLOAD, "welcome")] * 3)
    assert [(r.ok, r.retryable, r.status_code) for r in results] == [
        (False, False, 400),
        (False, True, 503),
        (False, True, 429),
    ]
    assert results[0].error == "twilio 21211: Invalid To number"


# --- push ----------------------------------------------------------------------------


def test_push(http: HttpRecorder) -> None:
    http.script = [Answer(200, b'{"id": 7}'), Answer(502)]
    payload = {
        "recipient": {"device_token": "dev-1"},
        "profile": {"first_name": "Ada"},
        "data": {"deep_link": "shop://cart"},
    }
    channel = JsonPush(http.url + "/push", token="pt")
    result = send(channel, message("push", payload, "welcome", key="push-1"))
    assert (result.ok, result.provider_id) == (True, "7")
    req = http.requests[0]
    assert req.headers["authorization"] == "Bearer pt"
    assert req.headers["idempotency-key"] == "push-1"
    body = json.loads(req.body)
    assert body["token"] == "dev-1"
    assert body["title"] == "Welcome, Ada!"
    assert body["data"] == {"deep_link": "shop://cart"}
    assert body["body"].startswith("Hi Ada,")
    again = send(JsonPush(http.url + "/push"), message("push", payload, "welcome"))
    assert (again.ok, again.retryable) == (False, True)
    assert "authorization" not in http.requests[1].headers
    nobody = send(JsonPush(http.url), message("push", {"profile": {}}, "welcome"))
    assert (nobody.ok, nobody.retryable) == (False, False)
