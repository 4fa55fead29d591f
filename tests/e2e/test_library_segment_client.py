"""Every shipped journey, driven by Segment's own Python client (``segment-analytics-python``)
against the real server on loopback, sending the events of Segment's specs as a tracker
does: the e-commerce v2 names and properties (no ``cart_id`` on ``Order Completed``), device
ids in ``context.device.id``, ``identify`` to link a device to a customer. The engine runs in
event time (a manual clock that the trackers' clock follows too), the dispatcher sends email
to a real SMTP server and webhooks to a real HTTP server, and the tests read what arrived."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from typing import Any, ClassVar

import orjson
import pytest
import sqlalchemy as sa
from pydantic import SecretStr
from segment.analytics import client as segment_client
from segment.analytics import request as segment_request
from segment.analytics.client import Client

from juncture import wiring
from juncture.core.events import as_utc
from juncture.core.identity import profile_id_for
from juncture.core.journeys.catalog import Catalog
from juncture.core.journeys.machine import bucket
from juncture.core.journeys.spec import JourneySpec
from juncture.definitions import journeys as journey_definitions
from juncture.definitions import segments as segment_definitions
from juncture.runtime.clock import ManualClock
from juncture.runtime.engine import StaticJourneys
from juncture.runtime.segments import Segments
from juncture.store import tables
from tests.conftest import WRITE_KEY, LiveServer, caught_up, settings_for
from tests.servers import HttpRecorder, Mail, SmtpSink

T0 = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)  # a Monday
MINUTE, HOUR, DAY = dt.timedelta(minutes=1), dt.timedelta(hours=1), dt.timedelta(days=1)
LIBRARY = {journey.id: journey for journey in journey_definitions.load_library()}


class DeviceClock(dt.datetime):
    """The trackers' clock: the engine's manual clock (what the client stamps ``timestamp``
    and ``sentAt`` with), so that events happen in event time, as in the demo."""

    clock: ClassVar[ManualClock]

    @classmethod
    def now(cls, tz: dt.tzinfo | None = None) -> DeviceClock:
        return cls.fromtimestamp(cls.clock.now().timestamp(), tz)


def product(pid: str, name: str, price: float, **more: Any) -> dict[str, Any]:
    """A product as the e-commerce spec describes it."""
    return {"product_id": pid, "sku": f"SKU-{pid}", "category": "Shoes", "name": name,
            "brand": "Trailside", "price": price, "quantity": 1,
            "url": f"https://shop.example/p/{pid}", **more}  # fmt: skip


SHOE = product("507f1f77", "Trail Runner 2", 89.0)
SOCKS = product("505bd767", "Running Socks", 12.0)


class Shop:
    """The real server with some shipped journeys, an SMTP server, and a Segment client."""

    def __init__(self, url: str, journeys: list[JourneySpec], **settings: Any) -> None:
        self.sink = SmtpSink().start()
        self.clock = ManualClock(T0)
        DeviceClock.clock = self.clock
        config = settings_for(url, smtp_url=SecretStr(self.sink.url),
                              email_from="Shop <shop@example.com>", dispatch_interval=0.05,
                              **settings)  # fmt: skip
        self.j = wiring.build(
            config, clock=self.clock, journeys=StaticJourneys(Catalog.of(journeys))
        )
        self.j.start_dispatcher()
        self.server = LiveServer(self.j).start()
        self.errors: list[Exception] = []
        self.segment = Client(WRITE_KEY, host=self.server.url, sync_mode=True,
                              on_error=lambda error, _batch: self.errors.append(error))  # fmt: skip

    def close(self) -> None:
        self.server.stop()
        self.sink.stop()

    # -- the trackers ----------------------------------------------------------------------
    def track(self, at: dt.datetime, who: str, event: str, device: str = "", **props: Any) -> None:
        """``who``: a user id, or ``anon:<id>`` for an anonymous device; ``device``: its id."""
        self.advance(at)
        user, anonymous = (None, who[5:]) if who.startswith("anon:") else (who, None)
        context = {"device": {"id": device}} if device else {}
        self.segment.track(user_id=user, anonymous_id=anonymous, event=event, properties=props,
                           context=context)  # fmt: skip
        assert self.errors == []

    def identify(self, at: dt.datetime, user: str, anonymous: str | None = None,
                 device: str = "", **traits: Any) -> None:  # fmt: skip
        """A customer logs in (on ``device``, whose ``anonymous`` id it links) or updates
        their traits; email marketing consented unless ``consent`` says otherwise."""
        self.advance(at)
        consent = traits.pop("consent", {"email": {"marketing": True}})
        traits = {"email": f"{user}@example.com", "first_name": user.title(), **traits}
        context = {"device": {"id": device}} if device else {}
        self.segment.identify(user_id=user, anonymous_id=anonymous, context=context,
                              traits={**traits, "consent": consent})  # fmt: skip
        assert self.errors == []

    # -- time ------------------------------------------------------------------------------
    def advance(self, to: dt.datetime) -> None:
        """Move the engine's clock to ``to``, firing each timer at its due time on the way (a
        fired timer may set one that falls due before ``to``), and let the dispatcher send."""
        caught_up(self.j)  # the events sent so far have set their timers (engine behind)
        fired: list[dt.datetime] = []
        while (due := self._next_due(to)) is not None:
            fired.append(due)
            assert fired.count(due) < 5, f"a timer due at {due} does not fire"
            self.clock.set(max(self.clock.now(), due))
            self.j.tick_sync()
        self.clock.set(max(self.clock.now(), to))
        self.j.tick_sync()
        self._settle()

    def _next_due(self, until: dt.datetime) -> dt.datetime | None:
        t = tables.timers
        with self.j.store.engine.connect() as conn:
            due = conn.execute(sa.select(sa.func.min(t.c.due_at)).where(t.c.due_at <= until))
            found = due.scalar_one()
        return None if found is None else as_utc(found)

    def _settle(self) -> None:
        """Wait until the engine has applied what was sent and the dispatcher has taken
        every message due by now."""
        caught_up(self.j)
        t = tables.outbox
        due = sa.and_(
            t.c.status.in_(("pending", "deferred")), t.c.next_attempt_at <= self.clock.now()
        )
        waiting = sa.select(sa.func.count()).where(sa.or_(due, t.c.status == "sending"))
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            with self.j.store.engine.connect() as conn:
                if conn.execute(waiting).scalar_one() == 0:
                    return
            time.sleep(0.05)
        raise AssertionError("the dispatcher did not send what was due")

    # -- what happened ---------------------------------------------------------------------
    def mails(self, user: str) -> list[Mail]:
        return [m for m in self.sink.mails if m.recipients == [f"{user}@example.com"]]

    def outbox(self, user: str | None = None) -> list[dict[str, Any]]:
        t = tables.outbox
        with self.j.store.engine.connect() as conn:
            rows = [dict(r._mapping) for r in conn.execute(sa.select(t).order_by(t.c.id))]
        for row in rows:
            if isinstance(row["payload"], str):
                row["payload"] = orjson.loads(row["payload"])
        if user is None:
            return rows
        return [r for r in rows if r["payload"].get("user_id") == user]


def outside_holdout(journey_id: str, name: str, *devices: str) -> str:
    """A user name (``name-<n>``) whose profile, founded by the user id or by the anonymous
    id of any of its devices, is outside the journey's holdout: its messages are sent."""
    journey = LIBRARY[journey_id]
    for n in range(500):
        user = f"{name}-{n}"
        founders = [f"user_id:{user}", *(f"anonymous_id:{d}-{user}" for d in devices)]
        buckets = [bucket(journey.id, profile_id_for(f), "holdout") * 100 for f in founders]
        if min(buckets) >= journey.holdout_percent:
            return user
    raise AssertionError("no customer outside the holdout")


@pytest.fixture
def shop(
    database_url: str, request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Shop]:
    monkeypatch.setattr(segment_client, "datetime", DeviceClock)
    monkeypatch.setattr(segment_request, "datetime", DeviceClock)
    journey_ids, settings = request.param
    s = Shop(database_url, [LIBRARY[j] for j in journey_ids], **settings)
    yield s
    s.close()


def journeys(*ids: str, **settings: Any) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("shop", [(ids, settings)], indirect=True)


def items_listed(mail: Mail) -> list[str]:
    return [line for line in mail.part("plain").splitlines() if line.startswith("- ")]


# -- cart abandonment ----------------------------------------------------------------------
@journeys("cart_abandonment")
def test_cart_reminders_go_only_to_carts_not_bought_never_empty_one_per_cart(shop: Shop) -> None:
    cart = "cart_abandonment"
    ann = outside_holdout(cart, "ann")  # two products, reminded once, buys after it
    ben = outside_holdout(cart, "ben")  # buys a minute before the reminder was due
    cat = outside_holdout(cart, "cat", "anon-phone")  # adds on her phone, buys on the laptop
    dan = outside_holdout(cart, "dan", "anon-phone")  # adds on his phone, logs in, never buys
    eve = outside_holdout(cart, "eve")  # adds, then takes it out again
    for user in (ann, ben, eve):
        shop.identify(T0, user)
    shop.track(T0 + MINUTE, ann, "Product Added", cart_id="c-ann", **SHOE)
    shop.track(T0 + 2 * MINUTE, ben, "Product Added", cart_id="c-ben", **SHOE)
    shop.track(T0 + 3 * MINUTE, f"anon:anon-phone-{cat}", "Product Added", f"phone-{cat}",
               cart_id="c-cat", **SHOE)  # fmt: skip
    shop.track(T0 + 4 * MINUTE, f"anon:anon-phone-{dan}", "Product Added", f"phone-{dan}",
               cart_id="c-dan", **SOCKS)  # fmt: skip
    shop.track(T0 + 5 * MINUTE, eve, "Product Added", cart_id="c-eve", **SHOE)
    shop.track(T0 + 10 * MINUTE, ann, "Product Added", cart_id="c-ann", **SOCKS)
    shop.track(T0 + 15 * MINUTE, eve, "Product Removed", cart_id="c-eve", **SHOE)
    shop.identify(T0 + 20 * MINUTE, cat, f"anon-phone-{cat}", f"phone-{cat}")
    shop.identify(T0 + 21 * MINUTE, dan, f"anon-phone-{dan}", f"phone-{dan}")
    # cat pays on her laptop: the order names no cart (the spec has no cart_id on it)
    shop.track(T0 + 40 * MINUTE, cat, "Order Completed", f"laptop-{cat}", order_id="o-cat",
               checkout_id="k-cat", total=89.0, revenue=89.0, currency="EUR",
               products=[SHOE])  # fmt: skip
    shop.track(T0 + 55 * MINUTE, ben, "Checkout Started", order_id="o-ben", value=89.0,
               currency="EUR", products=[SHOE])  # fmt: skip
    shop.track(T0 + 61 * MINUTE, ben, "Order Completed", order_id="o-ben", checkout_id="k-ben",
               total=89.0, revenue=89.0, currency="EUR", products=[SHOE])  # fmt: skip
    shop.advance(T0 + 2 * HOUR)
    [reminder] = shop.mails(ann)
    assert reminder.message["Subject"] == "You left 2 items in your basket"
    assert items_listed(reminder) == [
        "- Trail Runner 2 x 1 @ 89.00",
        "- Running Socks x 1 @ 12.00",
    ]
    [to_dan] = shop.mails(dan)  # the phone's cart, reminded once he was known
    assert items_listed(to_dan) == ["- Running Socks x 1 @ 12.00"]
    shop.track(T0 + 3 * HOUR, ann, "Order Completed", order_id="o-ann", total=101.0,
               revenue=101.0, currency="EUR", products=[SHOE, SOCKS])  # fmt: skip
    shop.advance(T0 + 3 * DAY)
    assert len(shop.mails(ann)) == 1  # no discount or last call after her purchase
    assert shop.mails(ben) == [] and shop.mails(cat) == [] and shop.mails(eve) == []
    assert len(shop.mails(dan)) == 2  # the reminder, then the discount or the last call
    for mail in shop.sink.mails:  # never an empty basket
        assert items_listed(mail), mail.part("plain")
    held = shop.outbox(eve)  # her reminder, then the discount or last call: none left
    assert [r["node_id"] for r in held][:1] == ["reminder"] and len(held) == 2
    assert {(r["status"], r["reason"]) for r in held} == {("suppressed", "empty_cart")}
    exits = {(r["key"], r["exit_reason"]) for r in enrollments(shop)}
    assert {("c-ann", "goal"), ("c-ben", "goal"), ("c-cat", "goal")} <= exits


@journeys("cart_abandonment", quiet_hours="21:00-08:00")
def test_a_reminder_held_back_by_quiet_hours_is_not_sent_after_the_purchase(shop: Shop) -> None:
    """The reminder is decided at 21:30 and waits for 08:00; one shopper buys at 07:00: at
    08:00 her cart is empty and nothing leaves, while the other's reminder does."""
    night = outside_holdout("cart_abandonment", "night")
    owl = outside_holdout("cart_abandonment", "owl")
    evening = T0.replace(hour=20, minute=30)
    for user in (night, owl):
        shop.identify(evening, user)
        shop.track(evening, user, "Product Added", cart_id=f"c-{user}", **SHOE)
    shop.advance(evening + HOUR + MINUTE)
    assert shop.sink.mails == []  # quiet hours: both reminders wait
    morning = T0.replace(hour=7) + DAY
    shop.track(morning, night, "Order Completed", order_id="o-night", total=89.0,
               currency="EUR", products=[SHOE])  # fmt: skip
    shop.advance(morning + 2 * HOUR)
    assert shop.mails(night) == [] and len(shop.mails(owl)) == 1
    [held] = [r for r in shop.outbox(night) if r["node_id"] == "reminder"]
    assert (held["status"], held["reason"]) == ("suppressed", "empty_cart")


def enrollments(shop: Shop) -> list[dict[str, Any]]:
    with shop.j.store.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(sa.select(tables.enrollments))]


# -- welcome series ------------------------------------------------------------------------
@journeys("welcome_series")
def test_welcome_then_an_offer_unless_the_new_customer_buys_first(shop: Shop) -> None:
    new, buyer = outside_holdout("welcome_series", "new"), outside_holdout("welcome_series", "buy")
    for user in (new, buyer):
        shop.identify(T0, user)
        shop.track(T0 + MINUTE, user, "Signed Up", type="organic", first_name=user.title())
    shop.advance(T0 + 5 * MINUTE)
    assert [m.message["Subject"] for m in shop.mails(new)] == [f"Welcome, {new.title()}!"]
    shop.track(T0 + DAY, buyer, "Order Completed", order_id="o-1", total=40.0, currency="EUR",
               products=[SOCKS])  # fmt: skip
    shop.advance(T0 + 4 * DAY)
    assert len(shop.mails(new)) == 2  # the welcome, then the offer on the third morning
    assert len(shop.mails(buyer)) == 1  # the welcome only: the order was the goal


# -- browse abandonment --------------------------------------------------------------------
@journeys("browse_abandonment")
def test_a_product_viewed_and_left_is_reminded_once(shop: Shop) -> None:
    looker = outside_holdout("browse_abandonment", "look")
    adder = outside_holdout("browse_abandonment", "add")
    for user in (looker, adder):
        shop.identify(T0, user)
        shop.track(T0 + MINUTE, user, "Product Viewed", currency="EUR", **SHOE)
        shop.track(T0 + 30 * MINUTE, user, "Product Viewed", currency="EUR", **SHOE)
    shop.track(T0 + 40 * MINUTE, adder, "Product Added", cart_id="c-add", **SHOE)
    shop.advance(T0 + 2 * HOUR + 20 * MINUTE)
    assert shop.mails(looker) == []  # two hours after the last view, not the first
    shop.advance(T0 + 2 * HOUR + 31 * MINUTE)
    [reminder] = shop.mails(looker)
    assert reminder.message["Subject"] == "Still thinking about Trail Runner 2?"
    shop.advance(T0 + 3 * DAY)
    assert len(shop.mails(looker)) == 1 and shop.mails(adder) == []


# -- post-purchase -------------------------------------------------------------------------
@journeys("post_purchase")
def test_after_an_order_a_confirmation_tips_and_a_review_request_unless_reviewed(
    shop: Shop,
) -> None:
    quiet = outside_holdout("post_purchase", "quiet")
    reviewer = outside_holdout("post_purchase", "review")
    for n, user in enumerate((quiet, reviewer)):
        shop.identify(T0, user)
        shop.track(T0 + MINUTE, user, "Order Completed", order_id=f"o-{n}", checkout_id=f"k-{n}",
                   total=101.0, revenue=89.0, shipping=4.95, tax=7.05, currency="EUR",
                   products=[SHOE])  # fmt: skip
    shop.advance(T0 + 5 * MINUTE)
    assert len(shop.mails(quiet)) == 1 and len(shop.mails(reviewer)) == 1  # confirmations
    shop.track(T0 + 5 * DAY, reviewer, "Product Reviewed", product_id=SHOE["product_id"],
               review_id="r-1", review_body="Grippy on wet rock", rating=5)  # fmt: skip
    shop.advance(T0 + 16 * DAY)
    assert len(shop.mails(quiet)) == 3  # confirmation, care tips, review request
    assert len(shop.mails(reviewer)) == 2  # reviewed before being asked: no request


# -- win-back ------------------------------------------------------------------------------
@journeys("win_back")
def test_a_customer_without_an_order_for_90_days_is_missed_and_a_valuable_one_offered(
    shop: Shop,
) -> None:
    lapsed = segment_definitions.LIBRARY / "lapsed_90d.yaml"
    Segments(shop.j.store.segments).apply(lapsed.read_text(encoding="utf-8"), str(lapsed), T0)
    gold = outside_holdout("win_back", "gold")
    back = outside_holdout("win_back", "back")
    for n, user in enumerate((gold, back)):
        shop.identify(T0, user, clv_tier="gold")
        shop.track(T0 + MINUTE, user, "Order Completed", order_id=f"o-{n}", total=89.0,
                   currency="EUR", products=[SHOE])  # fmt: skip
    shop.advance(T0 + 89 * DAY)
    assert shop.sink.mails == []
    shop.advance(T0 + 91 * DAY)
    assert len(shop.mails(gold)) == 1 and len(shop.mails(back)) == 1  # "we miss you"
    shop.track(T0 + 93 * DAY, back, "Order Completed", order_id="o-9", total=12.0,
               currency="EUR", products=[SOCKS])  # fmt: skip
    shop.advance(T0 + 99 * DAY)
    assert len(shop.mails(gold)) == 2  # then the offer for a valuable customer
    assert len(shop.mails(back)) == 1  # came back first: no offer


# -- replenishment -------------------------------------------------------------------------
BEANS = product("c0ffee", "House Espresso Beans", 14.0, category="Grocery > Coffee")


@journeys("replenishment")
def test_replenishment_reminds_when_the_shoppers_own_cycle_comes_round(shop: Shop) -> None:
    """Two orders of the beans 20 days apart: the profile expects the next on day 40, and the
    reminder arrives that morning at nine, unless the shopper has reordered."""
    regular = outside_holdout("replenishment", "regular")
    early = outside_holdout("replenishment", "early")
    for n, user in enumerate((regular, early)):
        shop.identify(T0, user)
        for k, day in enumerate((0, 20)):
            shop.track(T0 + day * DAY + MINUTE, user, "Order Completed", order_id=f"o-{n}-{k}",
                       total=14.0, currency="EUR", products=[BEANS])  # fmt: skip
    shop.advance(T0 + 39 * DAY)
    assert shop.sink.mails == []
    shop.track(T0 + 39 * DAY + HOUR, early, "Order Completed", order_id="o-early", total=14.0,
               currency="EUR", products=[BEANS])  # fmt: skip
    shop.advance(T0 + 40 * DAY + HOUR)  # 10:00 on day 40 (UTC)
    [reminder] = shop.mails(regular)
    assert reminder.message["Subject"] == "Time to restock your favourites?"
    assert shop.mails(early) == []  # reordered: the next one is due on day 59


@journeys("replenishment", replenish_every={"Grocery > Coffee": "30d"})
def test_a_first_purchase_of_a_declared_consumable_is_reminded_after_its_interval(
    shop: Shop,
) -> None:
    first = outside_holdout("replenishment", "first")
    shop.identify(T0, first)
    shop.track(T0 + MINUTE, first, "Order Completed", order_id="o-1", total=14.0,
               currency="EUR", products=[BEANS, SOCKS])  # fmt: skip
    shop.advance(T0 + 29 * DAY)
    assert shop.sink.mails == []  # the socks are no consumable; the beans last 30 days
    shop.advance(T0 + 30 * DAY + HOUR)
    assert len(shop.mails(first)) == 1


# -- NPS follow-up -------------------------------------------------------------------------
@pytest.fixture
def helpdesk() -> Iterator[HttpRecorder]:
    server = HttpRecorder().start()
    yield server
    server.stop()


def test_nps_detractors_reach_the_helpdesk_and_everyone_gets_an_answer(
    sqlite_url: str, helpdesk: HttpRecorder, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(segment_client, "datetime", DeviceClock)
    monkeypatch.setattr(segment_request, "datetime", DeviceClock)
    text = (journey_definitions.LIBRARY / "nps_follow_up.yaml").read_text(encoding="utf-8")
    text = text.replace("https://support.example.com/api/tickets", f"{helpdesk.url}/tickets")
    nps = journey_definitions.loads(text, "nps_follow_up.yaml")
    shop = Shop(
        sqlite_url, [nps], webhook_secret=SecretStr("helpdesk-secret"), webhook_allow="127.0.0.1"
    )
    try:
        unhappy, fan = "unhappy", "fan"
        for user in (unhappy, fan):
            shop.identify(T0, user)
        shop.track(T0 + MINUTE, unhappy, "NPS Submitted", score=3, comment="Late, twice")
        shop.track(T0 + 2 * MINUTE, fan, "NPS Submitted", score=10)
        shop.advance(T0 + HOUR)
        [ticket] = helpdesk.requests
        body = orjson.loads(ticket.body)
        assert (ticket.path, body["kind"], body["priority"]) == (
            "/tickets",
            "nps_detractor",
            "high",
        )
        # who the customer is and what they said, for the helpdesk to open a ticket
        assert (body["user_id"], body["email"]) == (unhappy, f"{unhappy}@example.com")
        assert body["profile_id"] == profile_id_for(f"user_id:{unhappy}")
        assert body["event"]["properties"] == {"score": 3, "comment": "Late, twice"}
        assert dt.datetime.fromisoformat(body["event"]["timestamp"]) == T0 + MINUTE
        assert len(shop.mails(unhappy)) == 1 and len(shop.mails(fan)) == 1
    finally:
        shop.close()
