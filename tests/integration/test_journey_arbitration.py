"""Arbitration inside the engine and on to the dispatcher: quiet hours defer a message that the
dispatcher then sends when they end, and the global control group gets no marketing while
its journeys are still measured. Real ingestion, real store, a recording channel."""

from __future__ import annotations

import asyncio
import datetime as dt

from juncture.channels.recording import RecordingChannel
from juncture.core.identity import profile_id_for
from juncture.core.journeys.arbitration import Cap, Policy, QuietHours, in_global_control
from juncture.core.journeys.catalog import Catalog
from juncture.core.journeys.orchestrate import JourneyConfig
from juncture.core.pipeline import EngineConfig
from juncture.runtime.dispatcher import Dispatcher
from juncture.store import journey_stats
from tests.integration.test_journeys_engine import T0, Shop, add, cart_journey, opted_in

HOUR, MINUTE = dt.timedelta(hours=1), dt.timedelta(minutes=1)


def shop_with(database_url: str, policy: Policy) -> Shop:
    config = EngineConfig(journeys=JourneyConfig(policy=policy))
    return Shop(database_url, Catalog.of([cart_journey()]), config)


def dispatch(shop: Shop, channel: RecordingChannel, at: dt.datetime) -> None:
    shop.clock.set(at)
    asyncio.run(Dispatcher(shop.j.store.outbox, {"email": channel}, shop.clock).run_once())


def test_a_message_deferred_by_quiet_hours_is_sent_when_they_end_not_before(
    database_url: str,
) -> None:
    shop = shop_with(database_url, Policy(quiet_hours=QuietHours(dt.time(21), dt.time(8))))
    try:
        opted_in(shop, timezone="Europe/Berlin")  # UTC+2 in May
        evening = dt.datetime(2026, 5, 4, 19, 30, tzinfo=dt.UTC)  # 21:30 in Berlin
        add(shop, evening - HOUR)
        shop.advance(evening + 5 * MINUTE)  # the hour of quiet ran out: the reminder is due
        [row] = shop.outbox()
        assert (row["status"], row["reason"]) == ("deferred", "quiet_hours")
        stats = journey_stats.collect(shop.j.store.engine, "cart_test")["cart_test"]
        assert stats.messages == {"deferred": 1}
        channel = RecordingChannel()
        morning = dt.datetime(2026, 5, 5, 6, 0, tzinfo=dt.UTC)  # 08:00 in Berlin
        for before in (evening + 10 * MINUTE, morning - MINUTE):
            dispatch(shop, channel, before)
            assert channel.sent == []
        dispatch(shop, channel, morning)
        assert [(m.template, m.recipient("email")) for m in channel.sent] == [
            ("cart_recovery", "u1@example.com")
        ]
        [row] = shop.outbox()
        assert row["status"] == "sent"
        dispatch(shop, channel, morning + HOUR)
        assert len(channel.sent) == 1
    finally:
        shop.close()


def test_a_deferred_message_counts_against_the_cap_of_the_day_it_leaves(
    database_url: str,
) -> None:
    quiet = QuietHours(dt.time(21), dt.time(8))
    shop = shop_with(database_url, Policy(quiet_hours=quiet, channel_caps={"email": Cap(day=1)}))
    try:
        opted_in(shop, timezone="Europe/Berlin")
        add(shop, dt.datetime(2026, 5, 4, 18, 30, tzinfo=dt.UTC), cart="c1")  # 20:30 Berlin
        add(shop, dt.datetime(2026, 5, 5, 6, 30, tzinfo=dt.UTC), cart="c2")  # 08:30 next day
        shop.advance(dt.datetime(2026, 5, 5, 8, 0, tzinfo=dt.UTC))
        assert [(r["status"], r["reason"]) for r in shop.outbox()] == [
            ("deferred", "quiet_hours"),  # leaves at 08:00: that day's one email
            ("suppressed", "frequency_cap:email:day"),
        ]
    finally:
        shop.close()


def controlled(percent: float) -> tuple[str, str]:
    """A user in the global control group of ``percent`` and one outside it."""
    users = [f"u{n}" for n in range(500)]
    inside = next(u for u in users if in_global_control(profile_id_for(f"user_id:{u}"), percent))
    outside = next(
        u for u in users if not in_global_control(profile_id_for(f"user_id:{u}"), percent)
    )
    return inside, outside


def test_the_global_control_group_gets_no_marketing_and_is_still_measured(
    database_url: str,
) -> None:
    inside, outside = controlled(20.0)
    shop = shop_with(database_url, Policy(global_control_percent=20.0))
    try:
        for user in (inside, outside):
            opted_in(shop, user)
            add(shop, T0 + MINUTE, cart=f"cart-{user}", user=user)
        order = {"cart_id": f"cart-{inside}", "order_id": "o1", "total": 50.0}
        shop.send(T0 + 10 * MINUTE, type="track", userId=inside, event="Order Completed",
                  properties=order)  # fmt: skip
        shop.send(T0 + 20 * MINUTE, type="track", userId=outside, event="Product Viewed")
        shop.advance(T0 + 2 * HOUR)
        by_profile = {r["profile_id"]: r for r in shop.outbox()}
        assert by_profile.keys() == {profile_id_for(f"user_id:{outside}")}  # the other bought
        shop.send(T0 + 3 * HOUR, type="track", userId=inside, event="Product Added",
                  properties={"cart_id": "again", "product_id": "P2", "price": 5.0})  # fmt: skip
        shop.advance(T0 + 5 * HOUR)
        rows = {(r["profile_id"], r["status"], r["reason"]) for r in shop.outbox()}
        assert rows == {
            (profile_id_for(f"user_id:{outside}"), "pending", None),
            (profile_id_for(f"user_id:{inside}"), "suppressed", "global_control"),
        }
        enrollments = {(e["profile_id"], e["key"]): e for e in shop.enrollments()}
        bought = enrollments[(profile_id_for(f"user_id:{inside}"), f"cart-{inside}")]
        assert bought["goal_reached_at"] is not None  # measured like anyone else
        assert not bought["holdout"]  # the control group is not a journey's holdout
        stats = journey_stats.collect(shop.j.store.engine, "cart_test")["cart_test"]
        assert (stats.entered, stats.goal_reached) == (3, 1)
        assert stats.suppressed == {"global_control": 1}
    finally:
        shop.close()
