"""Channels built from settings, and the dispatcher running in the background of a Juncture."""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterator

import pytest
from pydantic import SecretStr

from juncture import wiring
from juncture.channels.email import SmtpEmail
from juncture.channels.push import JsonPush
from juncture.channels.recording import RecordingChannel
from juncture.channels.sms import JsonSms, TwilioSms
from juncture.channels.webhook import Webhook
from juncture.core.journeys.orchestrate import Message
from juncture.store.outbox import Outbox, OutboxRow
from tests.conftest import settings_for
from tests.servers import HttpRecorder, SmtpSink


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


@pytest.fixture
def http() -> Iterator[HttpRecorder]:
    server = HttpRecorder().start()
    yield server
    server.stop()


def test_channels_from_settings() -> None:
    assert wiring.build_channels(settings_for("sqlite://")) == {}
    settings = settings_for(
        "sqlite://",
        smtp_url=SecretStr("smtp://u:p@127.0.0.1:2525?starttls=true"),
        email_from="Shop <news@shop.example>",
        webhook_secret=SecretStr("s"),
        sms_kind="twilio",
        sms_account_sid="AC1",
        sms_token=SecretStr("t"),
        sms_from="+1555",
        push_url="http://127.0.0.1:9/push",
        record_channels="onsite_test",
    )
    channels = wiring.build_channels(settings)
    assert isinstance(channels["email"], SmtpEmail)
    assert channels["email"].server.start_tls is True
    assert isinstance(channels["webhook"], Webhook)
    assert isinstance(channels["sms"], TwilioSms)
    assert channels["sms"].url == "https://api.twilio.com/2010-04-01/Accounts/AC1/Messages.json"
    assert isinstance(channels["push"], JsonPush)
    assert isinstance(channels["onsite_test"], RecordingChannel)
    json_sms = settings_for("sqlite://", sms_url="http://127.0.0.1:9/sms", sms_from="SHOP")
    assert isinstance(wiring.build_channels(json_sms)["sms"], JsonSms)
    half_email = settings_for("sqlite://", smtp_url=SecretStr("smtp://127.0.0.1:25"))
    assert "email" not in wiring.build_channels(half_email)  # no sender: not configured


def wait_until_settled(outbox: Outbox, count: int, timeout: float = 60.0) -> list[OutboxRow]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = outbox.deliveries()
        if sum(r.status in ("sent", "dead") for r in rows) >= count:
            return rows
        time.sleep(0.05)
    raise AssertionError(f"not settled: {[(r.idempotency_key, r.status) for r in rows]}")


def test_background_dispatcher_sends_and_dead_letters_the_unconfigured(
    database_url: str, smtp: SmtpSink, http: HttpRecorder, caplog: pytest.LogCaptureFixture
) -> None:
    settings = settings_for(
        database_url,
        smtp_url=SecretStr(smtp.url),
        email_from="news@shop.example",
        webhook_secret=SecretStr("s"),
        webhook_allow="127.0.0.1",
        dispatch_interval=0.05,
    )
    juncture = wiring.build(settings)
    outbox = Outbox(juncture.store.engine)
    now = dt.datetime.now(dt.UTC)
    payload = {"recipient": {"email": "ada@example.com", "phone": "+4930"}, "profile": {}}
    outbox.insert(
        [
            Message("m1", "p1", "email", "marketing", now, payload, template="welcome"),
            Message("m2", "p1", "sms", "marketing", now, payload, template="welcome"),
            Message("m3", "p1", "webhook", "marketing", now, {"url": http.url}),
            Message("m4", "p1", "onsite", "marketing", now, {"placement": "any"}, "welcome"),
        ]
    )
    with caplog.at_level(logging.INFO, logger="juncture"):
        juncture.start_dispatcher()
        try:
            rows = {r.idempotency_key: r for r in wait_until_settled(outbox, 3)}
        finally:
            juncture.close()
    assert rows["m1"].status == "sent"
    assert rows["m3"].status == "sent"
    assert (rows["m2"].status, rows["m2"].last_error) == ("dead", "no channel 'sms' configured")
    assert rows["m4"].status == "pending"  # a placement waits for /v1/decide
    assert [m.message["Subject"] for m in smtp.mails] == ["Welcome, friend!"]
    assert len(http.requests) == 1
    said = [r.getMessage() for r in caplog.records if "channels configured" in r.getMessage()]
    missing = ", ".join(c for c in wiring.CHANNELS if c not in ("email", "webhook"))
    assert said == [f"channels configured: email, webhook; not configured: {missing}"]
    assert juncture.dispatcher is not None
    assert juncture.dispatcher.report.sent == 2


def test_serve_refuses_a_bad_smtp_url(sqlite_url: str) -> None:
    from typer.testing import CliRunner

    from juncture.cli import main as cli

    env = {"JUNCTURE_SMTP_URL": "http://mail.example", "JUNCTURE_EMAIL_FROM": "a@b.example"}
    result = CliRunner().invoke(cli.app, ["serve", "--database-url", sqlite_url], env=env)
    assert result.exit_code == 2
    assert "smtp://" in result.output
