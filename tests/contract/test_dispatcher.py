"""The outbox and the dispatcher on every store: backoff, dead letters, recorded attempts,
in-doubt rows after a crash, queries per profile and journey."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from juncture.channels.base import Channel, DeliveryResult
from juncture.channels.email import SmtpEmail, message_id
from juncture.channels.links import Links
from juncture.channels.recording import RecordingChannel
from juncture.channels.targets import TargetPolicy
from juncture.channels.webhook import Webhook, verify
from juncture.core.journeys.orchestrate import Message
from juncture.runtime.clock import ManualClock
from juncture.runtime.dispatcher import Dispatcher, DispatchReport
from juncture.runtime.retry_policy import RetryPolicy
from juncture.store import tables
from juncture.store.outbox import Attempt, Outbox, OutboxRow
from juncture.store.sql import SqlStore
from tests.servers import Answer, HttpRecorder, SmtpSink

T0 = dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC)
BUSY = DeliveryResult.failed("webhook: HTTP 503: down", retryable=True, status_code=503)
POLICY = RetryPolicy(max_attempts=3, base=dt.timedelta(seconds=30), jitter=0)


@pytest.fixture
def outbox(store: SqlStore) -> Outbox:
    return Outbox(store.engine)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


def new(key: str, **overrides: Any) -> Message:
    values: dict[str, Any] = {
        "idempotency_key": key,
        "profile_id": "p1",
        "channel": "email",
        "purpose": "marketing",
        "created_at": T0,
        "template": "welcome",
        "journey_id": "welcome_series",
        "journey_version": 1,
        "payload": {"recipient": {"email": "ada@example.com"}, "profile": {"first_name": "Ada"}},
        **overrides,
    }
    return Message(**values)


def dispatcher(
    outbox: Outbox, clock: ManualClock, channels: dict[str, Channel], **kwargs: Any
) -> Dispatcher:
    return Dispatcher(outbox, channels, clock, kwargs.pop("policy", POLICY), **kwargs)


def run(d: Dispatcher) -> DispatchReport:
    return asyncio.run(d.run_once())


def test_retries_with_exponential_backoff_then_dead_letters(
    outbox: Outbox, clock: ManualClock
) -> None:
    outbox.insert([new("k1")])
    channel = RecordingChannel(default=BUSY)
    d = dispatcher(outbox, clock, {"email": channel})
    [row] = outbox.deliveries()
    seen_delays = []
    for expected in (1, 2):
        report = run(d)
        assert (report.claimed, report.retried, report.dead) == (1, 1, 0)
        row = outbox.get(row.id) or row
        assert (row.status, row.attempts) == ("pending", expected)
        assert row.next_attempt_at is not None
        seen_delays.append(row.next_attempt_at - clock.now())
        assert run(d).claimed == 0  # not due yet
        clock.set(row.next_attempt_at)
    assert seen_delays == [dt.timedelta(seconds=30), dt.timedelta(seconds=60)]
    report = run(d)
    assert (report.claimed, report.dead) == (1, 1)
    dead = outbox.get(row.id)
    assert dead is not None
    assert (dead.status, dead.attempts, dead.last_error) == ("dead", 3, BUSY.error)
    attempts = outbox.attempts(row.id)
    assert [(a.attempt, a.ok, a.status_code) for a in attempts] == [
        (1, False, 503),
        (2, False, 503),
        (3, False, 503),
    ]
    assert [a.at for a in attempts] == [
        T0,
        T0 + dt.timedelta(seconds=30),
        T0 + dt.timedelta(seconds=90),
    ]
    assert channel.keys() == ["k1"] * 3
    clock.advance(dt.timedelta(days=1))
    assert run(d).claimed == 0
    assert [r.id for r in outbox.dead_letters()] == [row.id]


def test_permanent_failure_is_dead_at_once_and_retry_brings_it_back(
    outbox: Outbox, clock: ManualClock
) -> None:
    outbox.insert([new("k1")])
    refused = DeliveryResult.failed("smtp permanent 550: no such user", retryable=False)
    channel = RecordingChannel(script=[refused])
    d = dispatcher(outbox, clock, {"email": channel})
    assert run(d).dead == 1
    [row] = outbox.deliveries(status="dead")
    assert row.last_error == refused.error
    assert outbox.retry_dead() == 1
    assert outbox.retry_dead() == 0
    assert run(d).sent == 1
    sent = outbox.get(row.id)
    assert sent is not None
    assert (sent.status, sent.sent_at) == ("sent", T0)
    assert [a.ok for a in outbox.attempts(row.id)] == [False, True]


def test_unconfigured_channel_and_bad_template_dead_letter_with_reason(
    outbox: Outbox, clock: ManualClock
) -> None:
    outbox.insert([new("k1", channel="sms"), new("k2", template="no_such_template")])
    d = dispatcher(outbox, clock, {"email": RecordingChannel()})
    assert run(d).dead == 2
    by_key = {r.idempotency_key: r for r in outbox.deliveries()}
    assert by_key["k1"].last_error == "no channel 'sms' configured"
    assert "unknown template" in (by_key["k2"].last_error or "")


def test_in_doubt_row_is_resent_with_the_same_key_after_a_crash(
    outbox: Outbox, clock: ManualClock, store: SqlStore
) -> None:
    outbox.insert([new("k1"), new("k2")])
    # A dispatcher claimed both and died before recording anything: rows left `sending`.
    claimed = outbox.claim(clock.now(), 10, dt.timedelta(minutes=5))
    assert [r.status for r in claimed] == ["sending", "sending"]
    assert outbox.claim(clock.now(), 10, dt.timedelta(minutes=5)) == []  # leased
    channel = RecordingChannel()
    d = dispatcher(outbox, clock, {"email": channel})

    async def restart() -> DispatchReport:
        assert await d.recover() == 2
        return await d.run_once()

    report = asyncio.run(restart())
    assert (report.sent, report.in_doubt) == (2, 2)
    assert sorted(channel.keys()) == ["k1", "k2"]
    assert {r.status for r in outbox.deliveries()} == {"sent"}
    assert run(d).claimed == 0


def test_expired_lease_is_taken_again_and_at_most_once_channels_dead_letter(
    outbox: Outbox, clock: ManualClock
) -> None:
    outbox.insert([new("k1"), new("k2", channel="sms")])
    outbox.claim(clock.now(), 10, dt.timedelta(minutes=5))
    channels: dict[str, Channel] = {"email": RecordingChannel(), "sms": RecordingChannel()}
    d = dispatcher(outbox, clock, channels, at_most_once={"sms"})
    assert run(d).claimed == 0
    clock.advance(dt.timedelta(minutes=5))
    report = run(d)
    assert (report.in_doubt, report.sent, report.dead) == (2, 1, 1)
    sms = outbox.deliveries(status="dead")[0]
    assert "at-most-once" in (sms.last_error or "")


def test_deferred_waits_and_suppressed_is_never_sent(outbox: Outbox, clock: ManualClock) -> None:
    later = T0 + dt.timedelta(hours=8)
    outbox.insert(
        [
            new("k1", status="deferred", next_attempt_at=later, reason="quiet_hours"),
            new("k2", status="suppressed", reason="no_consent"),
        ]
    )
    channel = RecordingChannel()
    d = dispatcher(outbox, clock, {"email": channel})
    assert run(d).claimed == 0
    clock.set(later)
    assert run(d).sent == 1
    assert channel.keys() == ["k1"]
    assert outbox.counts_by_status() == {"sent": 1, "suppressed": 1}


def test_deliveries_per_profile_journey_and_status_with_paging(
    outbox: Outbox, clock: ManualClock
) -> None:
    assert (
        outbox.insert(
            [
                new("a1", profile_id="pa"),
                new("a2", profile_id="pa", journey_id="cart_abandonment"),
                new("b1", profile_id="pb"),
                new("a1", profile_id="pz"),  # a repeat of the key: skipped
            ]
        )
        == 3
    )
    assert outbox.insert([new("a1")]) == 0

    def keys(rows: list[OutboxRow]) -> list[str]:
        return [r.idempotency_key for r in rows]

    assert keys(outbox.deliveries(profile_id="pa")) == ["a1", "a2"]
    assert keys(outbox.deliveries(journey_id="cart_abandonment")) == ["a2"]
    assert keys(outbox.deliveries(journey_id="welcome_series", profile_id="pb")) == ["b1"]
    first = outbox.deliveries(limit=2)
    assert keys(first) == ["a1", "a2"]
    assert keys(outbox.deliveries(limit=2, after_id=first[-1].id)) == ["b1"]
    assert outbox.deliveries(status="sent") == []
    asyncio.run(dispatcher(outbox, clock, {"email": RecordingChannel()}).run_once())
    assert keys(outbox.deliveries(status="sent", profile_id="pb")) == ["b1"]


def test_claims_are_disjoint(outbox: Outbox, clock: ManualClock) -> None:
    outbox.insert([new(f"k{i}") for i in range(5)])
    lease = dt.timedelta(minutes=1)
    first = outbox.claim(clock.now(), 3, lease)
    second = outbox.claim(clock.now(), 3, lease)
    assert len(first) == 3
    assert len(second) == 2
    assert not {r.id for r in first} & {r.id for r in second}


@pytest.fixture
def smtp() -> Iterator[SmtpSink]:
    sink = SmtpSink().start()
    yield sink
    sink.stop()


def test_email_through_the_dispatcher_to_a_real_smtp_server(
    outbox: Outbox, clock: ManualClock, smtp: SmtpSink
) -> None:
    cart = {"items": [{"name": "Trail Shoe", "quantity": 1, "price": 59.5}]}
    payload = {
        "recipient": {"email": "ada@example.com"},
        "profile": {"first_name": "Ada"},
        "event": {"event": "Checkout Started"},
        "cart": cart,
        "journey": {"id": "cart_abandonment"},
    }
    outbox.insert([new("cart:1", template="cart_recovery", payload=payload)])
    email = SmtpEmail(smtp.url, sender="Shop <shop@shop.example>", now=clock.now)
    links = Links("test-links-secret", "https://juncture.test")
    report = run(dispatcher(outbox, clock, {"email": email}, links=links))
    assert report.sent == 1
    [mail] = smtp.wait_for(1)
    [row] = outbox.deliveries()
    unsubscribe = links.unsubscribe(row.id)  # marketing: the one-click way out (RFC 8058)
    assert mail.message["List-Unsubscribe"].strip() == f"<{unsubscribe}>"
    assert unsubscribe in mail.part("plain")
    assert mail.message["Subject"] == "You left 1 item in your basket"
    assert mail.message["Message-ID"] == message_id("cart:1", "shop.example")
    assert "- Trail Shoe x 1 @ 59.50" in mail.part("plain")
    [attempt] = outbox.attempts(outbox.deliveries()[0].id)
    assert (attempt.ok, attempt.status_code) == (True, 250)


def test_errors_do_not_keep_the_recipient(outbox: Outbox, clock: ManualClock) -> None:
    payload = {"recipient": {"email": "ada@example.com", "phone": "+4930123456"}}
    outbox.insert([new("k1", channel="sms", payload=payload)])
    said = "twilio 21211: The 'To' number +4930123456 is not a valid phone number."
    channel = RecordingChannel(script=[DeliveryResult.failed(said, retryable=False)])
    assert run(dispatcher(outbox, clock, {"sms": channel})).dead == 1
    [row] = outbox.deliveries()
    expected = "twilio 21211: The 'To' number <recipient> is not a valid phone number."
    assert row.last_error == expected
    assert outbox.attempts(row.id)[0].error == expected


def test_webhook_through_the_dispatcher_retries_5xx_and_not_4xx(
    outbox: Outbox, clock: ManualClock
) -> None:
    http = HttpRecorder(script=[Answer(503), Answer(502), Answer(200), Answer(404)]).start()
    try:
        outbox.insert(
            [
                new("w1", channel="webhook", template=None, payload={"url": http.url + "/a"}),
            ]
        )
        policy = RetryPolicy(max_attempts=5, base=dt.timedelta(seconds=10), jitter=0)
        d = dispatcher(
            outbox,
            clock,
            {
                "webhook": Webhook(
                    secret="s", now=clock.now, targets=TargetPolicy.parse("127.0.0.1")
                )
            },
            policy=policy,
        )
        for _ in range(3):
            asyncio.run(d.run_once())
            clock.advance(dt.timedelta(minutes=1))
        outbox.insert([new("w2", channel="webhook", template=None, payload={"url": http.url})])
        asyncio.run(d.run_once())
    finally:
        http.stop()
    statuses = {r.idempotency_key: (r.status, r.attempts) for r in outbox.deliveries()}
    assert statuses == {"w1": ("sent", 3), "w2": ("dead", 1)}
    assert [r.headers["idempotency-key"] for r in http.requests] == ["w1", "w1", "w1", "w2"]
    for req in http.requests:
        stamp = req.headers["x-juncture-timestamp"]
        signature = req.headers["x-juncture-signature"]
        assert verify("s", stamp, req.body, signature, now=clock.now().timestamp())
    assert http.requests[0].body == http.requests[2].body


def test_a_message_erased_while_it_was_out_records_no_attempt(
    outbox: Outbox, clock: ManualClock, store: SqlStore
) -> None:
    outbox.insert([new("k1"), new("k2")])
    first, second = outbox.claim(clock.now(), 10, dt.timedelta(minutes=5))
    with store.engine.begin() as conn:  # the person is erased while the message is out
        conn.execute(tables.outbox.delete().where(tables.outbox.c.id == first.id))
    failed = Attempt(ok=False, status_code=550, error="550 <ann@example.com>: no such user")
    outbox.record_attempt(first.id, failed, clock.now(), None, dead=True)
    outbox.record_attempt(second.id, Attempt(ok=True), clock.now(), None, dead=False)
    with store.engine.connect() as conn:
        attempts = conn.execute(sa.select(tables.delivery_attempts.c.outbox_id)).scalars()
        assert list(attempts) == [second.id]
    assert [(r.id, r.status) for r in outbox.deliveries()] == [(second.id, "sent")]
