from __future__ import annotations

import datetime as dt

import pytest

from juncture.core.journeys import arbitration as a
from juncture.core.journeys.commands import Send

UTC = dt.UTC
PARIS = "Europe/Paris"
CONSENT = {"email:marketing": True, "sms:marketing": True, "push": True}


def send(
    channel: str = "email",
    purpose: str = "marketing",
    journey: str = "j",
    priority: int = 0,
    profile: str = "p1",
) -> Send:
    return Send(
        journey_id=journey,
        version=1,
        enrollment_id="e",
        profile_id=profile,
        node="n",
        idempotency_key=f"{journey}:{channel}",
        channel=channel,
        purpose=purpose,
        template="t",
        priority=priority,
    )


def contacts(*times: dt.datetime, channel: str = "email") -> a.ContactHistory:
    return a.ContactHistory(tuple(a.Contact(t, channel, "marketing") for t in times))


NO_HISTORY = a.ContactHistory()
OPEN = a.Policy()
NOON = dt.datetime(2024, 3, 6, 12, tzinfo=UTC)


def decide(
    candidates: list[Send],
    history: a.ContactHistory = NO_HISTORY,
    policy: a.Policy = OPEN,
    now: dt.datetime = NOON,
    consent: dict[str, bool] | None = None,
    tz: str | None = PARIS,
) -> list[tuple[str, str | None]]:
    out = a.arbitrate(
        candidates, history, policy, consent=CONSENT if consent is None else consent,
        timezone=tz, now=now,
    )  # fmt: skip
    return [(d.outcome, d.reason) for d in out]


DAILY = a.Policy(channel_caps={"email": a.Cap(day=1, week=3)})


def test_daily_cap_counts_the_customers_local_day() -> None:
    now = dt.datetime(2024, 3, 6, 0, 30, tzinfo=UTC)  # 01:30 in Paris, Wednesday
    yesterday_local = contacts(dt.datetime(2024, 3, 5, 22, 30, tzinfo=UTC))  # 23:30 Paris
    today_local = contacts(dt.datetime(2024, 3, 5, 23, 30, tzinfo=UTC))  # 00:30 Paris
    assert decide([send()], yesterday_local, DAILY, now) == [("allowed", None)]
    assert decide([send()], today_local, DAILY, now) == [("suppressed", "frequency_cap:email:day")]
    # in UTC both contacts are on the previous day: the time zone decides
    assert decide([send()], today_local, DAILY, now, tz="UTC") == [("allowed", None)]


def test_weekly_cap_counts_from_monday() -> None:
    now = dt.datetime(2024, 3, 8, 12, tzinfo=UTC)  # Friday
    week = contacts(*(dt.datetime(2024, 3, d, 9, tzinfo=UTC) for d in (4, 5, 6)))
    assert decide([send()], week, DAILY, now) == [("suppressed", "frequency_cap:email:week")]
    last_week = contacts(*(dt.datetime(2024, 3, d, 9, tzinfo=UTC) for d in (1, 2, 3)))
    assert decide([send()], last_week, DAILY, now) == [("allowed", None)]


def test_caps_count_messages_allowed_in_the_same_call() -> None:
    policy = a.Policy(global_cap=a.Cap(day=1))
    got = decide([send("email"), send("push")], policy=policy)
    assert got == [("allowed", None), ("suppressed", "global_cap")]


def test_quiet_hours_defer_to_their_end_in_local_time() -> None:
    policy = a.Policy(quiet_hours=a.QuietHours(dt.time(21), dt.time(8)))
    now = dt.datetime(2024, 3, 6, 21, 15, tzinfo=UTC)  # 22:15 in Paris
    (decision,) = a.arbitrate([send()], a.ContactHistory(), policy, consent=CONSENT,
                              timezone=PARIS, now=now)  # fmt: skip
    assert decision.outcome == "deferred"
    assert decision.until == dt.datetime(2024, 3, 7, 7, 0, tzinfo=UTC)  # 08:00 in Paris
    early = dt.datetime(2024, 3, 7, 5, 0, tzinfo=UTC)  # 06:00 in Paris
    (decision,) = a.arbitrate([send()], a.ContactHistory(), policy, consent=CONSENT,
                              timezone=PARIS, now=early)  # fmt: skip
    assert decision.until == dt.datetime(2024, 3, 7, 7, 0, tzinfo=UTC)
    assert decide([send()], policy=policy) == [("allowed", None)]


def test_a_deferred_message_meets_the_cap_of_the_day_it_leaves() -> None:
    policy = a.Policy(
        quiet_hours=a.QuietHours(dt.time(21), dt.time(8)),
        channel_caps={"email": a.Cap(day=1)},
    )
    now = dt.datetime(2024, 3, 6, 21, 15, tzinfo=UTC)
    today = contacts(dt.datetime(2024, 3, 6, 10, tzinfo=UTC))
    assert decide([send()], today, policy, now) == [("deferred", None)]


@pytest.mark.parametrize(
    ("consent", "channel", "reason"),
    [
        ({}, "email", "no_consent:email:marketing"),
        ({"email:marketing": False, "email": True}, "email", "no_consent:email:marketing"),
        ({"sms": False}, "sms", "no_consent:sms:marketing"),
        ({}, "onsite", None),
        ({"email": True}, "email", None),
    ],
)
def test_consent_per_channel_and_purpose(
    consent: dict[str, bool], channel: str, reason: str | None
) -> None:
    expected = ("allowed", None) if reason is None else ("suppressed", reason)
    assert decide([send(channel)], consent=consent) == [expected]


def test_transactional_is_exempt_from_caps_quiet_hours_and_control() -> None:
    policy = a.Policy(
        channel_caps={"email": a.Cap(day=0)},
        global_cap=a.Cap(day=0),
        quiet_hours=a.QuietHours(dt.time(0), dt.time(23, 59)),
        global_control_percent=100.0,
    )
    assert decide([send(purpose="transactional")], policy=policy, consent={}) == [("allowed", None)]
    refused = {"email:transactional": False}
    assert decide([send(purpose="transactional")], policy=policy, consent=refused) == [
        ("suppressed", "no_consent:email:transactional")
    ]


def test_highest_priority_journey_wins() -> None:
    candidates = [
        send("email", journey="welcome", priority=50),
        send("email", journey="cart", priority=80),
        send("push", journey="cart", priority=80),
        send("sms", journey="receipt", purpose="transactional"),
    ]
    assert decide(candidates) == [
        ("suppressed", "lower_priority"),
        ("allowed", None),
        ("allowed", None),
        ("allowed", None),
    ]


def test_consent_is_checked_before_priority() -> None:
    candidates = [send("sms", journey="cart", priority=80), send("email", journey="welcome")]
    assert decide(candidates, consent={"email:marketing": True}) == [
        ("suppressed", "no_consent:sms:marketing"),
        ("allowed", None),
    ]


def test_global_control_is_deterministic_and_sized() -> None:
    members = [p for p in (f"p{n}" for n in range(10_000)) if a.in_global_control(p, 5.0)]
    assert 400 < len(members) < 600
    policy = a.Policy(global_control_percent=5.0)
    assert decide([send(profile=members[0])], policy=policy) == [("suppressed", "global_control")]
