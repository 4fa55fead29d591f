"""Every journey of the shipped library, end to end: events through the real ingestion path
and group commit into the engine on a manual clock (waits in event time), outbox rows and
enrollments read from the store, and each sent row rendered by the dispatcher.

Each journey has a scenario that reaches its messages (template, channel, timing) and one
that converts or exits early and sends nothing more. Customers are opted in to email
marketing and chosen outside each journey's holdout."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from juncture.core.events import as_utc
from juncture.core.identity import profile_id_for
from juncture.core.journeys.catalog import Catalog
from juncture.core.journeys.machine import bucket
from juncture.definitions import journeys as journey_definitions
from juncture.definitions import segments as segment_definitions
from juncture.runtime.clock import ManualClock
from juncture.runtime.dispatcher import Dispatcher
from juncture.runtime.segments import Segments
from juncture.store import tables
from juncture.store.outbox import row_of
from tests.integration.test_journeys_engine import T0, Shop

LIBRARY = {journey.id: journey for journey in journey_definitions.load_library()}
MINUTE, HOUR, DAY = dt.timedelta(minutes=1), dt.timedelta(hours=1), dt.timedelta(days=1)


def customer(journey_id: str) -> str:
    """A user id outside the journey's holdout, so that its messages are really sent."""
    journey = LIBRARY[journey_id]
    return next(
        f"shopper-{n}"
        for n in range(200)
        if bucket(journey.id, profile_id_for(f"user_id:shopper-{n}"), "holdout") * 100
        >= journey.holdout_percent
    )


class Library(Shop):
    """The harness with one library journey and one customer, opted in to email."""

    def __init__(self, url: str, journey_id: str) -> None:
        super().__init__(url, Catalog.of([LIBRARY[journey_id]]))
        self.user = customer(journey_id)

    def join(self, at: dt.datetime = T0, **traits: Any) -> None:
        consent = {"email": {"marketing": True}, **traits.pop("consent", {})}
        traits = {"email": f"{self.user}@example.com", "first_name": "Ada", **traits}
        self.send(at, type="identify", userId=self.user, traits={**traits, "consent": consent})

    def track(self, at: dt.datetime, event: str, **properties: Any) -> None:
        self.send(at, type="track", userId=self.user, event=event, properties=properties)

    def advance(self, to: dt.datetime) -> None:
        """Move the clock to ``to``, ticking at each timer's due time on the way, as the
        scheduler does: a timer set by a fired one may itself fall due before ``to``."""
        while (due := self.next_due(to)) is not None and due > self.clock.now():
            super().advance(due)
        super().advance(to)
        for _ in range(3):  # timers set at ``to`` for ``to`` (a wait already over)
            if self.next_due(to) is None:
                return
            super().advance(to)
        raise AssertionError(f"a timer due by {to} did not fire")

    def next_due(self, until: dt.datetime) -> dt.datetime | None:
        t = tables.timers
        query = sa.select(sa.func.min(t.c.due_at)).where(t.c.due_at <= until)
        with self.j.store.engine.connect() as conn:
            due = conn.execute(query).scalar_one()
        return None if due is None else as_utc(due)

    def sent(self) -> list[tuple[str, str | None, str]]:
        """(channel, template, status) of every outbox row, rendering each one on the way."""
        dispatcher = Dispatcher(self.j.store.outbox, {}, ManualClock(T0))
        rows = self.outbox()
        for row in rows:
            message = dispatcher.message(row_of(row))
            if message.content is not None:
                assert message.content.subject.strip() or row["channel"] != "email", row
                assert "Ada" in message.content.text, (row["template"], message.content.text)
        return [(r["channel"], r["template"], r["status"]) for r in rows]

    def enrollment(self) -> dict[str, Any]:
        [enrollment] = self.enrollments()
        return enrollment


@pytest.fixture
def library(database_url: str, request: pytest.FixtureRequest) -> Iterator[Library]:
    shop = Library(database_url, request.param)
    yield shop
    shop.close()


def journey(journey_id: str) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("library", [journey_id], indirect=True)


# -- welcome series ------------------------------------------------------------------------
@journey("welcome_series")
def test_welcome_series_welcomes_then_offers_in_the_morning_two_days_later(
    library: Library,
) -> None:
    library.join()
    library.track(T0 + MINUTE, "Signed Up")
    assert library.sent() == [("email", "welcome", "pending")]
    library.advance(T0 + 2 * DAY + 2 * HOUR)  # two days passed, but after 10:00
    assert len(library.sent()) == 1
    library.advance(T0 + 3 * DAY - MINUTE)
    assert len(library.sent()) == 1
    library.advance(T0 + 3 * DAY)  # the next 10:00
    assert library.sent()[1:] == [("email", "welcome_offer", "pending")]
    assert library.enrollment()["status"] == "exited"


@journey("welcome_series")
def test_welcome_series_offers_by_push_to_app_users(library: Library) -> None:
    library.join(push_enabled=True, device_token="tok-1", consent={"push": {"marketing": True}})
    library.track(T0 + MINUTE, "Signed Up")
    library.advance(T0 + 3 * DAY)
    assert [(c, t) for c, t, _ in library.sent()] == [
        ("email", "welcome"),
        ("push", "welcome_offer_push"),
    ]


@journey("welcome_series")
def test_welcome_series_stops_when_the_customer_buys_first(library: Library) -> None:
    library.join()
    library.track(T0 + MINUTE, "Signed Up")
    library.track(T0 + DAY, "Order Completed", order_id="o1", total=40.0)
    library.advance(T0 + 5 * DAY)
    assert library.sent() == [("email", "welcome", "pending")]
    enrollment = library.enrollment()
    assert enrollment["goal_reached_at"] is not None
    assert enrollment["status"] == "exited"


@journey("welcome_series")
def test_welcome_series_exits_on_unsubscribe_and_offers_nothing(library: Library) -> None:
    library.join()
    library.track(T0 + MINUTE, "Signed Up")
    library.track(T0 + DAY, "Unsubscribed", channel="email")
    library.advance(T0 + 5 * DAY)
    assert library.sent() == [("email", "welcome", "pending")]
    enrollment = library.enrollment()
    assert (enrollment["status"], enrollment["goal_reached_at"]) == ("exited", None)
    assert enrollment["exit_reason"] != "completed"


# -- browse abandonment --------------------------------------------------------------------
VIEW = {"product_id": "P1", "name": "Trail shoe", "price": 90.0}


@journey("browse_abandonment")
def test_browse_abandonment_reminds_once_two_hours_after_the_last_view(
    library: Library,
) -> None:
    library.join()
    library.track(T0 + MINUTE, "Product Viewed", **VIEW)
    library.track(T0 + HOUR, "Product Viewed", **VIEW)  # resets the wait
    library.advance(T0 + 2 * HOUR + 30 * MINUTE)
    assert library.sent() == []
    library.advance(T0 + 3 * HOUR + MINUTE)
    assert library.sent() == [("email", "browse_abandonment", "pending")]
    library.advance(T0 + DAY)
    assert len(library.sent()) == 1


@journey("browse_abandonment")
def test_browse_abandonment_sends_nothing_once_the_product_is_added(library: Library) -> None:
    library.join()
    library.track(T0 + MINUTE, "Product Viewed", **VIEW)
    library.track(T0 + 30 * MINUTE, "Product Added", cart_id="c1", **VIEW)
    library.advance(T0 + DAY)
    assert library.sent() == []
    assert library.enrollment()["status"] == "exited"


@journey("browse_abandonment")
def test_browse_abandonment_exits_when_checkout_starts(library: Library) -> None:
    library.join()
    library.track(T0 + MINUTE, "Product Viewed", **VIEW)
    library.track(T0 + 30 * MINUTE, "Checkout Started", cart_id="c1")
    library.advance(T0 + DAY)
    assert library.sent() == []
    assert library.enrollment()["status"] == "exited"


# -- cart abandonment ----------------------------------------------------------------------
ADD = {"cart_id": "c1", "product_id": "P1", "name": "Trail shoe", "price": 90.0}


@journey("cart_abandonment")
def test_cart_abandonment_reminds_after_an_hour_then_tests_a_discount_a_day_later(
    library: Library,
) -> None:
    library.join()
    library.track(T0 + MINUTE, "Product Added", **ADD)
    library.advance(T0 + 55 * MINUTE)
    assert library.sent() == []
    library.advance(T0 + HOUR + 2 * MINUTE)
    assert library.sent() == [("email", "cart_recovery", "pending")]
    library.advance(T0 + DAY)
    assert len(library.sent()) == 1
    library.advance(T0 + DAY + HOUR + 2 * MINUTE)
    [_, (channel, template, status)] = library.sent()
    assert (channel, status) == ("email", "pending")
    assert template in {"cart_discount_10", "cart_last_call"}
    assert library.enrollment()["status"] == "exited"


@journey("cart_abandonment")
def test_cart_abandonment_stops_when_the_cart_is_bought_after_the_reminder(
    library: Library,
) -> None:
    library.join()
    library.track(T0 + MINUTE, "Product Added", **ADD)
    library.advance(T0 + 2 * HOUR)
    library.track(T0 + 3 * HOUR, "Order Completed", cart_id="c1", order_id="o1", total=90.0)
    library.advance(T0 + 3 * DAY)
    assert library.sent() == [("email", "cart_recovery", "pending")]
    enrollment = library.enrollment()
    assert enrollment["goal_reached_at"] is not None
    assert enrollment["status"] == "exited"


# -- post-purchase onboarding with review request -------------------------------------------
ORDER = {"order_id": "o1", "total": 90.0, "products": [{"product_id": "P1", "price": 90.0}]}


@journey("post_purchase")
def test_post_purchase_confirms_gives_tips_then_asks_for_a_review_at_six(
    library: Library,
) -> None:
    library.join()
    library.track(T0 + MINUTE, "Order Completed", **ORDER)
    assert library.sent() == [("email", "post_purchase", "pending")]
    library.advance(T0 + 3 * DAY)
    assert len(library.sent()) == 1
    library.advance(T0 + 3 * DAY + 2 * MINUTE)
    assert library.sent()[1:] == [("email", "product_care_tips", "pending")]
    library.advance(T0 + 14 * DAY + 2 * MINUTE)  # 14 days, still before 18:00
    assert len(library.sent()) == 2
    library.advance(T0 + 14 * DAY + 8 * HOUR)  # 18:00 that day
    assert library.sent()[2:] == [("email", "review_request", "pending")]
    assert library.enrollment()["status"] == "exited"


@journey("post_purchase")
def test_post_purchase_asks_for_no_review_once_the_product_is_reviewed(
    library: Library,
) -> None:
    library.join()
    library.track(T0 + MINUTE, "Order Completed", **ORDER)
    library.advance(T0 + 4 * DAY)
    library.track(T0 + 5 * DAY, "Product Reviewed", product_id="P1", rating=5)
    library.advance(T0 + 20 * DAY)
    assert [t for _, t, _ in library.sent()] == ["post_purchase", "product_care_tips"]
    enrollment = library.enrollment()
    assert enrollment["goal_reached_at"] is not None
    assert enrollment["status"] == "exited"


# -- win-back ------------------------------------------------------------------------------
LAPSED = segment_definitions.LIBRARY / "lapsed_90d.yaml"  # the shipped segment win_back needs


def lapse(library: Library, **traits: Any) -> None:
    """Apply the shipped lapsed_90d segment, as ``segments apply --library`` does, then an
    order and 91 quiet days: the segment enters."""
    text = LAPSED.read_text(encoding="utf-8")
    Segments(library.j.store.segments).apply(text, str(LAPSED), T0)
    library.join(**traits)
    library.track(T0 + MINUTE, "Order Completed", order_id="o1", total=90.0)
    library.advance(T0 + 89 * DAY)
    assert library.sent() == []
    library.advance(T0 + 91 * DAY)


@journey("win_back")
def test_win_back_misses_a_lapsed_customer_then_offers_to_a_valuable_one(
    library: Library,
) -> None:
    lapse(library, clv_tier="gold")
    assert library.sent() == [("email", "win_back", "pending")]
    library.advance(T0 + 97 * DAY)
    assert len(library.sent()) == 1
    library.advance(T0 + 98 * DAY + MINUTE)
    assert library.sent()[1:] == [("email", "win_back_offer_15", "pending")]
    assert library.enrollment()["status"] == "exited"


@journey("win_back")
def test_win_back_stops_when_the_lapsed_customer_orders_again(library: Library) -> None:
    lapse(library, clv_tier="gold")
    library.track(T0 + 93 * DAY, "Order Completed", order_id="o2", total=90.0)
    library.advance(T0 + 110 * DAY)
    assert library.sent() == [("email", "win_back", "pending")]
    enrollment = library.enrollment()
    assert enrollment["goal_reached_at"] is not None
    assert enrollment["status"] == "exited"


# -- replenishment -------------------------------------------------------------------------
# Nothing in the runtime emits Date Reached yet (see the report), so the test sends it.
def due(library: Library, at: dt.datetime) -> None:
    library.track(at, "Date Reached", trait="replenish_at")


@journey("replenishment")
def test_replenishment_reminds_at_nine_on_the_due_day(library: Library) -> None:
    library.join(replenish_at="2026-05-05")
    due(library, T0 + MINUTE)  # Monday 10:01: the next 09:00 is Tuesday
    library.advance(T0 + 22 * HOUR)
    assert library.sent() == []
    library.advance(T0 + 23 * HOUR)
    assert library.sent() == [("email", "replenishment", "pending")]
    assert library.enrollment()["status"] == "exited"


@journey("replenishment")
def test_replenishment_reminds_by_sms_who_prefers_it(library: Library) -> None:
    library.join(phone="+4915100000000", prefers_sms=True, consent={"sms": {"marketing": True}})
    due(library, T0 + MINUTE)
    library.advance(T0 + DAY)
    assert library.sent() == [("sms", "replenishment", "pending")]


@journey("replenishment")
def test_replenishment_sends_nothing_when_the_customer_reorders_first(library: Library) -> None:
    library.join()
    due(library, T0 + MINUTE)
    library.track(T0 + 2 * HOUR, "Order Completed", order_id="o1", total=20.0)
    library.advance(T0 + 2 * DAY)
    assert library.sent() == []
    enrollment = library.enrollment()
    assert enrollment["goal_reached_at"] is not None
    assert enrollment["status"] == "exited"


# -- NPS follow-up -------------------------------------------------------------------------
@journey("nps_follow_up")
@pytest.mark.parametrize(
    ("score", "expected"),
    [
        (2, [("webhook", None), ("email", "nps_detractor")]),
        (6, [("webhook", None), ("email", "nps_detractor")]),
        (7, [("email", "nps_thanks")]),
        (8, [("email", "nps_thanks")]),
        (9, [("email", "nps_promoter")]),
        (10, [("email", "nps_promoter")]),
    ],
)
def test_nps_sends_detractors_to_support_and_promoters_to_a_review(
    library: Library, score: int, expected: list[tuple[str, str | None]]
) -> None:
    library.join()
    library.track(T0 + MINUTE, "NPS Submitted", survey_id="s1", score=score)
    library.advance(T0 + DAY)
    assert [(c, t) for c, t, _ in library.sent()] == expected
    if expected[0][0] == "webhook":
        payload = library.outbox()[0]["payload"]
        assert "nps_detractor" in str(payload)
    assert library.enrollment()["status"] == "exited"


@journey("nps_follow_up")
def test_nps_asks_no_review_of_an_unsubscribed_promoter_but_still_apologises(
    library: Library,
) -> None:
    library.join()
    library.track(T0 + MINUTE, "Unsubscribed", channel="email")
    library.track(T0 + 2 * MINUTE, "NPS Submitted", survey_id="s1", score=10)
    library.track(T0 + 3 * MINUTE, "NPS Submitted", survey_id="s2", score=1)
    library.advance(T0 + DAY)
    statuses = {t: s for _, t, s in library.sent()}
    assert statuses["nps_promoter"] == "suppressed"
    assert statuses["nps_detractor"] == "pending"


@journey("replenishment")
def test_replenishment_starts_by_itself_on_the_day_of_the_trait(library: Library) -> None:
    library.join(replenish_at="2026-05-05")
    library.advance(T0 + 2 * DAY)
    assert library.sent() == [("email", "replenishment", "pending")]


@journey("replenishment")
def test_a_moved_replenishment_date_fires_once_on_the_new_day(library: Library) -> None:
    library.join(replenish_at="2026-05-05")
    library.send(T0 + HOUR, type="identify", userId=library.user,
                 traits={"replenish_at": "2026-05-08"})  # fmt: skip
    library.advance(T0 + 2 * DAY)
    assert library.sent() == []
    library.advance(T0 + 5 * DAY)
    assert library.sent() == [("email", "replenishment", "pending")]


@journey("nps_follow_up")
def test_nps_follows_up_an_answer_sent_as_survey_answered(library: Library) -> None:
    """``Survey Answered`` with ``survey: nps`` is an NPS answer to the profile, and how the
    simulated retailer sends it (without a survey id), so the follow-up starts on it too."""
    library.join()
    library.track(T0 + MINUTE, "Survey Answered", survey="nps", score=3)
    library.track(T0 + 2 * MINUTE, "Survey Answered", survey="csat", score=1)
    library.track(T0 + 3 * MINUTE, "NPS Submitted", score=10)
    library.advance(T0 + DAY)
    assert [(c, t) for c, t, _ in library.sent()] == [
        ("webhook", None),
        ("email", "nps_detractor"),
        ("email", "nps_promoter"),
    ]
