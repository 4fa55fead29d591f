"""Journeys inside the engine: events in through the real ingestion path and group commit,
enrollments, timers and outbox rows out, on SQLite and PostgreSQL, in event time."""

from __future__ import annotations

import datetime as dt
import textwrap
import uuid
from collections.abc import Iterator
from typing import Any

import msgspec
import orjson
import pytest
import sqlalchemy as sa

from juncture import wiring
from juncture.core import messages
from juncture.core.journeys.arbitration import Cap, Policy, QuietHours
from juncture.core.journeys.catalog import Catalog
from juncture.core.journeys.orchestrate import JourneyConfig
from juncture.core.pipeline import EngineConfig
from juncture.definitions import journeys as journey_definitions
from juncture.runtime.clock import ManualClock
from juncture.runtime.engine import StaticJourneys
from juncture.store import tables
from tests.conftest import caught_up, settings_for

T0 = dt.datetime(2026, 5, 4, 10, 0, tzinfo=dt.UTC)  # a Monday, 10:00 UTC

CART = """
id: cart_test
version: {version}
name: Cart test
priority: 80
entry:
  reentry: always
  key: event.properties.cart_id
goal:
  event: Order Completed
  key: event.properties.cart_id
  within: 7d
holdout: {holdout}
nodes:
  - id: added
    type: trigger
    event: Product Added
    next: wait_order
  - id: wait_order
    type: wait
    until_event: Order Completed
    key: event.properties.cart_id
    timeout: 1h
    reset: Product Added
    on_event: done
    on_timeout: reminder
  - id: reminder
    type: send
    channel: email
    template: cart_recovery
    purpose: marketing
    next: done
  - id: done
    type: exit
"""


def cart_journey(version: int = 1, holdout: float = 0) -> Any:
    text = textwrap.dedent(CART).format(version=version, holdout=holdout)
    return journey_definitions.loads(text, "cart_test.yaml")


class Shop:
    """A Juncture on a manual clock, fed through the real ingestion path."""

    def __init__(self, url: str, catalog: Catalog, config: EngineConfig | None = None) -> None:
        self.url, self.catalog, self.config = url, catalog, config
        self.clock = ManualClock(T0)
        self.j = self._build()

    def _build(self) -> wiring.Juncture:
        j = wiring.build(
            settings_for(self.url), clock=self.clock, journeys=StaticJourneys(self.catalog)
        )
        if self.config is not None:
            j.engine.config = self.config
        return j

    def restart(self) -> None:
        self.j.close()
        self.j = self._build()

    def send(self, at: dt.datetime, **message: Any) -> None:
        self.clock.set(max(self.clock.now(), at))
        body = {"messageId": str(uuid.uuid4()), "timestamp": at.isoformat(), **message}
        envelope = messages.Envelope(messages=[msgspec.Raw(orjson.dumps(body))], single=False)
        outcome = self.j.ingestor.ingest_sync(envelope, "test")
        assert outcome.rejected == [], outcome.rejected
        caught_up(self.j)  # applied at its own time, before the clock moves on

    def advance(self, to: dt.datetime) -> None:
        self.clock.set(to)
        self.j.tick_sync()

    def outbox(self) -> list[dict[str, Any]]:
        with self.j.store.engine.connect() as conn:
            rows = conn.execute(sa.select(tables.outbox).order_by(tables.outbox.c.id))
            return [dict(r._mapping) for r in rows]

    def enrollments(self) -> list[dict[str, Any]]:
        with self.j.store.engine.connect() as conn:
            rows = conn.execute(sa.select(tables.enrollments))
            return [dict(r._mapping) for r in rows]

    def close(self) -> None:
        self.j.close()


@pytest.fixture
def shop(database_url: str) -> Iterator[Shop]:
    s = Shop(database_url, Catalog.of([cart_journey()]))
    yield s
    s.close()


def opted_in(shop: Shop, user: str = "u1", **traits: Any) -> None:
    consent = {"email": {"marketing": True}}
    shop.send(
        T0,
        type="identify",
        userId=user,
        traits={"email": f"{user}@example.com", "first_name": "Ada", "consent": consent, **traits},
    )


def add(
    shop: Shop,
    at: dt.datetime,
    product: str = "P1",
    cart: str = "c1",
    user: str = "u1",
    *,
    anonymous: str | None = None,
) -> None:
    """``user`` adds ``product`` to ``cart``; with ``anonymous``, a visitor not logged in."""
    props = {"cart_id": cart, "product_id": product, "name": f"Shoe {product}", "price": 50.0}
    who = {"anonymousId": anonymous} if anonymous is not None else {"userId": user}
    shop.send(at, type="track", event="Product Added", properties=props, **who)


def order(shop: Shop, at: dt.datetime, cart: str = "c1", order_id: str = "o1") -> None:
    props = {"cart_id": cart, "order_id": order_id, "total": 50.0}
    shop.send(at, type="track", userId="u1", event="Order Completed", properties=props)


def test_abandoned_cart_gets_exactly_one_reminder_with_its_items(shop: Shop) -> None:
    opted_in(shop)
    add(shop, T0 + dt.timedelta(minutes=1))
    shop.advance(T0 + dt.timedelta(minutes=50))
    assert shop.outbox() == []
    shop.advance(T0 + dt.timedelta(minutes=62))
    shop.advance(T0 + dt.timedelta(hours=5))
    [row] = shop.outbox()
    assert (row["channel"], row["template"], row["status"]) == ("email", "cart_recovery", "pending")
    payload = orjson.loads(row["payload"])
    assert payload["email"] == "u1@example.com"
    assert [i["product_id"] for i in payload["cart"]["items"]] == ["P1"]
    assert payload["profile"]["first_name"] == "Ada"
    [enrollment] = shop.enrollments()
    assert enrollment["status"] == "exited"


def test_a_purchase_during_the_wait_sends_nothing_and_reaches_the_goal(shop: Shop) -> None:
    opted_in(shop)
    add(shop, T0 + dt.timedelta(minutes=1))
    order(shop, T0 + dt.timedelta(minutes=20))
    shop.advance(T0 + dt.timedelta(hours=3))
    assert shop.outbox() == []
    [enrollment] = shop.enrollments()
    assert enrollment["goal_reached_at"] is not None
    assert enrollment["status"] == "exited"


def test_another_product_added_restarts_the_wait(shop: Shop) -> None:
    opted_in(shop)
    add(shop, T0 + dt.timedelta(minutes=1))
    add(shop, T0 + dt.timedelta(minutes=40), product="P2")
    shop.advance(T0 + dt.timedelta(minutes=75))  # 1h after the first add, not after the second
    assert shop.outbox() == []
    shop.advance(T0 + dt.timedelta(minutes=101))
    [row] = shop.outbox()
    items = orjson.loads(row["payload"])["cart"]["items"]
    assert sorted(i["product_id"] for i in items) == ["P1", "P2"]


def test_a_restart_during_the_wait_still_sends_exactly_once(shop: Shop) -> None:
    opted_in(shop)
    add(shop, T0 + dt.timedelta(minutes=1))
    shop.restart()
    shop.advance(T0 + dt.timedelta(minutes=30))
    shop.restart()
    shop.advance(T0 + dt.timedelta(minutes=65))
    shop.restart()
    shop.advance(T0 + dt.timedelta(hours=2))
    assert len(shop.outbox()) == 1


def test_without_consent_the_message_is_suppressed_with_the_reason(shop: Shop) -> None:
    shop.send(T0, type="identify", userId="u1", traits={"email": "u1@example.com"})
    add(shop, T0 + dt.timedelta(minutes=1))
    shop.advance(T0 + dt.timedelta(hours=2))
    [row] = shop.outbox()
    assert (row["status"], row["reason"]) == ("suppressed", "no_consent:email:marketing")


def test_quiet_hours_defer_to_the_morning_in_the_customers_time_zone(database_url: str) -> None:
    policy = Policy(quiet_hours=QuietHours(start=dt.time(21), end=dt.time(8)))
    config = EngineConfig(journeys=JourneyConfig(policy=policy))
    shop = Shop(database_url, Catalog.of([cart_journey()]), config)
    try:
        opted_in(shop, timezone="Europe/Berlin")  # UTC+2 in May
        late = dt.datetime(2026, 5, 4, 19, 30, tzinfo=dt.UTC)  # 21:30 in Berlin
        add(shop, late - dt.timedelta(hours=1))
        shop.advance(late + dt.timedelta(minutes=5))
        [row] = shop.outbox()
        assert row["status"] == "deferred"
        assert row["reason"] == "quiet_hours"
        due = row["next_attempt_at"]
        due = due if due.tzinfo else due.replace(tzinfo=dt.UTC)
        assert due == dt.datetime(2026, 5, 5, 6, 0, tzinfo=dt.UTC)  # 08:00 in Berlin
    finally:
        shop.close()


def test_frequency_cap_suppresses_the_second_marketing_email_of_the_day(
    database_url: str,
) -> None:
    policy = Policy(channel_caps={"email": Cap(day=1)})
    config = EngineConfig(journeys=JourneyConfig(policy=policy))
    shop = Shop(database_url, Catalog.of([cart_journey()]), config)
    try:
        opted_in(shop)
        add(shop, T0 + dt.timedelta(minutes=1), cart="c1")
        add(shop, T0 + dt.timedelta(minutes=2), cart="c2")
        shop.advance(T0 + dt.timedelta(hours=2))
        rows = shop.outbox()
        assert sorted((r["status"], r["reason"]) for r in rows) == [
            ("pending", None),
            ("suppressed", "frequency_cap:email:day"),
        ]
    finally:
        shop.close()


def test_holdout_is_never_messaged_but_its_goal_is_measured(database_url: str) -> None:
    shop = Shop(database_url, Catalog.of([cart_journey(holdout=99.9)]))
    try:
        opted_in(shop)
        add(shop, T0 + dt.timedelta(minutes=1), cart="c1")
        add(shop, T0 + dt.timedelta(minutes=2), cart="c2")
        order(shop, T0 + dt.timedelta(minutes=10), cart="c2", order_id="o2")
        shop.advance(T0 + dt.timedelta(hours=2))
        rows = shop.outbox()
        assert [(r["status"], r["reason"]) for r in rows] == [("suppressed", "holdout")]
        goals = {e["key"]: e["goal_reached_at"] is not None for e in shop.enrollments()}
        assert goals == {"c1": False, "c2": True}
        assert all(e["holdout"] for e in shop.enrollments())
    finally:
        shop.close()


def test_running_enrollments_finish_on_their_version(database_url: str) -> None:
    v1, v2 = cart_journey(1), cart_journey(2)
    shop = Shop(database_url, Catalog.of([v1]))
    try:
        opted_in(shop)
        add(shop, T0 + dt.timedelta(minutes=1), cart="c1")
        shop.catalog = Catalog(versions=(v1, v2), open=frozenset({"cart_test"}))
        shop.restart()
        add(shop, T0 + dt.timedelta(minutes=2), cart="c2")
        shop.advance(T0 + dt.timedelta(hours=2))
        versions = {e["key"]: e["version"] for e in shop.enrollments()}
        assert versions == {"c1": 1, "c2": 2}
        sent = {r["journey_version"] for r in shop.outbox() if r["status"] == "pending"}
        assert sent == {1, 2}
    finally:
        shop.close()


def test_a_paused_journey_takes_no_one_new(database_url: str) -> None:
    shop = Shop(database_url, Catalog(versions=(cart_journey(),), open=frozenset()))
    try:
        opted_in(shop)
        add(shop, T0 + dt.timedelta(minutes=1))
        shop.advance(T0 + dt.timedelta(hours=2))
        assert shop.enrollments() == []
    finally:
        shop.close()


def test_events_that_arrive_days_late_start_no_journey(shop: Shop) -> None:
    opted_in(shop)
    shop.clock.set(T0 + dt.timedelta(days=3))
    add(shop, T0 + dt.timedelta(minutes=1))  # received three days after it happened
    shop.advance(T0 + dt.timedelta(days=3, hours=2))
    assert shop.enrollments() == []


def test_every_move_by_time_emits_its_stage_change_at_its_moment(database_url: str) -> None:
    shop = Shop(database_url, Catalog())
    try:
        order = {"order_id": "o1", "total": 30.0}
        shop.send(T0, type="track", userId="u1", event="Order Completed", properties=order)
        shop.send(T0 + dt.timedelta(days=1), type="track", userId="u1", event="Product Used")
        for day in (20, 40, 80, 120):  # the scheduler's ticks, days apart
            shop.advance(T0 + dt.timedelta(days=day))
        changes = shop.j.store.events(user_id=None, derived=True, limit=1000)
        moves = [
            (e.properties["from"], e.properties["to"], e.timestamp)
            for e in changes
            if e.event == "Journey Stage Changed"
        ]
        assert moves == [
            ("awareness", "decision", T0),
            ("decision", "loyalty", T0 + dt.timedelta(days=1)),
            ("loyalty", "decision", T0 + dt.timedelta(days=31)),
            ("decision", "lapsed", T0 + dt.timedelta(days=91)),
        ]
    finally:
        shop.close()


def test_a_lapse_moves_the_stored_stage_without_any_new_event(database_url: str) -> None:
    shop = Shop(database_url, Catalog())
    try:
        order = {"order_id": "o1", "total": 30.0}
        shop.send(T0, type="track", userId="u1", event="Order Completed", properties=order)
        shop.advance(T0 + dt.timedelta(days=200))
        with shop.j.store.engine.connect() as conn:
            stages = conn.execute(sa.select(tables.profiles.c.stage)).scalars().all()
        assert stages == ["lapsed"]
        changes = shop.j.store.events(user_id=None, derived=True, limit=1000)
        assert [e.properties["to"] for e in changes if e.event == "Journey Stage Changed"][-1] == (
            "lapsed"
        )
    finally:
        shop.close()


def test_consent_withdrawn_while_a_message_waits_stops_it_at_the_door(database_url: str) -> None:
    import asyncio

    from juncture.channels.recording import RecordingChannel
    from juncture.runtime.dispatcher import Dispatcher

    policy = Policy(quiet_hours=QuietHours(start=dt.time(21), end=dt.time(8)))
    config = EngineConfig(journeys=JourneyConfig(policy=policy))
    shop = Shop(database_url, Catalog.of([cart_journey()]), config)
    try:
        opted_in(shop, timezone="Europe/Berlin")
        evening = dt.datetime(2026, 5, 4, 18, 30, tzinfo=dt.UTC)  # 20:30 in Berlin
        add(shop, evening)
        shop.advance(evening + dt.timedelta(hours=1, minutes=5))  # deferred to the morning
        no = {"email": {"marketing": False}}
        shop.send(evening + dt.timedelta(hours=2), type="identify", userId="u1",
                  traits={"consent": no})  # fmt: skip
        shop.clock.set(dt.datetime(2026, 5, 5, 6, 1, tzinfo=dt.UTC))
        channel = RecordingChannel()
        dispatcher = Dispatcher(shop.j.store.outbox, {"email": channel}, shop.clock)
        report = asyncio.run(dispatcher.run_once())
        assert (report.sent, report.suppressed) == (0, 1)
        assert channel.sent == []
        [row] = shop.outbox()
        assert (row["status"], row["reason"]) == ("suppressed", "no_consent:email:marketing")
    finally:
        shop.close()


def test_a_customer_without_an_address_is_recorded_not_sent(shop: Shop) -> None:
    consent = {"email": {"marketing": True}}
    shop.send(T0, type="identify", userId="u1", traits={"consent": consent})  # no email
    add(shop, T0 + dt.timedelta(minutes=1))
    shop.advance(T0 + dt.timedelta(hours=2))
    [row] = shop.outbox()
    assert (row["status"], row["reason"]) == ("suppressed", "no_recipient:email")


def test_arbitration_comes_from_the_settings(database_url: str) -> None:
    settings = settings_for(database_url, channel_caps="email=1/-", quiet_hours="off")
    shop = Shop(database_url, Catalog.of([cart_journey()]), wiring.engine_config(settings))
    try:
        opted_in(shop)
        add(shop, T0 + dt.timedelta(minutes=1), cart="c1")
        add(shop, T0 + dt.timedelta(minutes=2), cart="c2")
        shop.advance(T0 + dt.timedelta(hours=2))
        reasons = sorted(str(r["reason"]) for r in shop.outbox())
        assert reasons == ["None", "frequency_cap:email:day"]
    finally:
        shop.close()


@pytest.mark.parametrize(
    ("field", "value", "says"),
    [
        ("quiet_hours", "late evening", "HH:MM-HH:MM"),
        ("channel_caps", "email:2", "channel=DAY/WEEK"),
    ],
)
def test_bad_arbitration_settings_say_what_is_wrong(field: str, value: str, says: str) -> None:
    from pydantic import ValidationError

    from juncture.settings import Settings

    with pytest.raises(ValidationError, match=says):
        Settings.model_validate({field: value})


def _profile_of(shop: Shop, user: str) -> str:
    with shop.j.store.engine.connect() as conn:
        found = conn.execute(
            sa.select(tables.identities.c.profile_id).where(
                tables.identities.c.identifier == f"user_id:{user}"
            )
        ).scalar_one()
    return str(found)


def test_a_cart_wait_follows_the_visitor_into_the_profile_it_merges_with(shop: Shop) -> None:
    """Anonymous on the phone, known on the laptop: after the login merges the two, the
    purchase (under the user id) ends the wait the anonymous cart started. No reminder."""
    opted_in(shop)  # the laptop: profile of u1
    add(shop, T0 + dt.timedelta(minutes=1), cart="c9", anonymous="phone-1")
    [before] = shop.enrollments()
    shop.send(T0 + dt.timedelta(minutes=5), type="identify", userId="u1", anonymousId="phone-1")
    survivor = _profile_of(shop, "u1")
    [moved] = shop.enrollments()
    assert (moved["enrollment_id"], moved["profile_id"]) == (before["enrollment_id"], survivor)
    order(shop, T0 + dt.timedelta(minutes=20), cart="c9", order_id="o9")
    shop.advance(T0 + dt.timedelta(hours=3))
    assert shop.outbox() == []
    [done] = shop.enrollments()
    assert done["goal_reached_at"] is not None and done["status"] == "exited"


def test_a_merged_wait_that_times_out_sends_once_to_the_survivor(shop: Shop) -> None:
    opted_in(shop)
    add(shop, T0 + dt.timedelta(minutes=1), cart="c9", anonymous="phone-1")
    shop.send(T0 + dt.timedelta(minutes=5), type="identify", userId="u1", anonymousId="phone-1")
    shop.restart()
    shop.advance(T0 + dt.timedelta(hours=3))
    [row] = shop.outbox()
    assert row["profile_id"] == _profile_of(shop, "u1")
    assert orjson.loads(row["payload"])["email"] == "u1@example.com"


WELCOME = """
id: welcome_test
version: 1
name: Welcome test
entry: {reentry: never}
nodes:
  - {id: hello, type: trigger, event: Product Viewed, next: wait}
  - {id: wait, type: wait, duration: 1d, next: mail}
  - {id: mail, type: send, channel: email, template: welcome, purpose: marketing, next: done}
  - {id: done, type: exit}
"""


def test_two_profiles_in_one_journey_merge_into_one_enrollment(database_url: str) -> None:
    """At most one active enrollment per person per journey: the earlier one goes on, the
    later one ends with the reason ``merged`` and its timer is gone."""
    journey = journey_definitions.loads(textwrap.dedent(WELCOME), "welcome_test.yaml")
    shop = Shop(database_url, Catalog.of([journey]))
    try:
        opted_in(shop)
        shop.send(T0 + dt.timedelta(minutes=1), type="track", userId="u1", event="Product Viewed")
        shop.send(
            T0 + dt.timedelta(minutes=2),
            type="track",
            anonymousId="phone-1",
            event="Product Viewed",
        )
        assert len([e for e in shop.enrollments() if e["status"] == "active"]) == 2
        shop.send(T0 + dt.timedelta(minutes=5), type="identify", userId="u1", anonymousId="phone-1")
        rows = sorted(shop.enrollments(), key=lambda e: e["entered_at"])
        survivor = _profile_of(shop, "u1")
        assert [(e["status"], e["exit_reason"]) for e in rows] == [
            ("active", None),
            ("exited", "merged"),
        ]
        assert {e["profile_id"] for e in rows} == {survivor}
        shop.advance(T0 + dt.timedelta(days=2))
        assert [r["template"] for r in shop.outbox()] == ["welcome"]
    finally:
        shop.close()
