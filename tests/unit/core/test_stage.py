from __future__ import annotations

import datetime as dt
from typing import Any

from juncture.core import signals, stage
from juncture.core.events import Event
from juncture.core.profile import reducer
from juncture.core.profile.model import Profile
from juncture.core.stage import Stage

T0 = dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def ev(name: str, at: dt.datetime = T0, *, type: str = "track", **props: Any) -> Event:
    return Event(
        source="web",
        message_id=f"{name}@{at.isoformat()}",
        type=type,
        event=name if type == "track" else None,
        name=name if type != "track" else None,
        timestamp=at,
        received_at=at,
        anonymous_id="a1",
        properties=props,
    )


def run(*events: Event) -> Profile:
    p = Profile(profile_id="p_1")
    for e in events:
        p = reducer.reduce(p, e)
    return p


def test_awareness_with_page_views_only() -> None:
    assert stage.stage_of(run(ev("Home", type="page")), T0) is Stage.AWARENESS
    assert stage.stage_of(Profile(profile_id="x"), T0) is Stage.AWARENESS


def test_consideration_with_product_views_or_clicks() -> None:
    assert stage.stage_of(run(ev("Product Viewed", product_id="s")), T0) is Stage.CONSIDERATION
    assert stage.stage_of(run(ev("Category Clicked", category="c")), T0) is Stage.CONSIDERATION


def test_decision_with_a_cart_or_a_checkout() -> None:
    assert stage.stage_of(run(ev("Product Added", product_id="s")), T0) is Stage.DECISION
    assert stage.stage_of(run(ev("Checkout Started")), T0) is Stage.DECISION


def test_one_order_without_later_engagement_stays_in_decision() -> None:
    p = run(ev("Order Completed", order_id="o1"))
    assert stage.stage_of(p, T0 + DAY) is Stage.DECISION


def test_loyalty_with_two_orders_or_one_and_recent_engagement() -> None:
    two = run(ev("Order Completed", order_id="o1"), ev("Order Completed", T0 + DAY, order_id="o2"))
    assert stage.stage_of(two, T0 + 2 * DAY) is Stage.LOYALTY
    engaged = run(ev("Order Completed", order_id="o1"), ev("Product Used", T0 + DAY))
    assert stage.stage_of(engaged, T0 + 2 * DAY) is Stage.LOYALTY
    assert stage.stage_of(engaged, T0 + 40 * DAY) is Stage.DECISION


def test_lapsed_after_inactivity_once_ordered() -> None:
    p = run(ev("Order Completed", order_id="o1"), ev("Order Completed", T0 + DAY, order_id="o2"))
    assert stage.next_change(p, T0 + DAY) == T0 + 91 * DAY
    assert stage.stage_of(p, T0 + 91 * DAY) is Stage.LAPSED
    assert stage.stage_of(p, T0 + 91 * DAY - dt.timedelta(microseconds=1)) is Stage.LOYALTY
    assert stage.changed(p, T0 + 2 * DAY, T0 + 100 * DAY) == (Stage.LOYALTY, Stage.LAPSED)
    assert stage.changed(p, T0 + 2 * DAY, T0 + 3 * DAY) is None
    assert stage.next_change(p, T0 + 91 * DAY) is None  # lapsed stays lapsed
    browser = run(ev("Product Viewed", product_id="s"))
    assert stage.stage_of(browser, T0 + 365 * DAY) is Stage.CONSIDERATION
    assert stage.next_change(browser, T0) is None


def test_one_engaged_order_moves_to_decision_then_lapses_by_time() -> None:
    p = run(ev("Order Completed", order_id="o1"), ev("Product Used", T0 + DAY))
    assert stage.stage_of(p, T0 + DAY) is Stage.LOYALTY
    to_decision = stage.next_change(p, T0 + DAY)
    assert to_decision == T0 + 31 * DAY  # engaged_within after the last activity
    assert stage.changed(p, to_decision - dt.timedelta(microseconds=1), to_decision) == (
        Stage.LOYALTY,
        Stage.DECISION,
    )
    assert stage.next_change(p, to_decision) == T0 + 91 * DAY
    assert stage.stage_of(p, T0 + 91 * DAY) is Stage.LAPSED


def test_time_driven_moves_follow_the_config() -> None:
    config = stage.StageConfig(
        engaged_within=dt.timedelta(days=7), lapsed_after=dt.timedelta(days=20)
    )
    p = run(ev("Order Completed", order_id="o1"), ev("Product Used", T0 + DAY))
    assert stage.next_change(p, T0 + DAY, config) == T0 + 8 * DAY
    assert stage.next_change(p, T0 + 8 * DAY, config) == T0 + 21 * DAY


def test_transition_emits_journey_stage_changed() -> None:
    before = run(ev("Product Viewed", product_id="s"))
    cause = ev("Product Added", T0 + DAY, product_id="s")
    after = reducer.reduce(before, cause)
    changed = stage.transition(before, after, cause, T0 + DAY)
    assert changed is not None
    assert changed.event == "Journey Stage Changed"
    assert changed.properties["from"] == "consideration"
    assert changed.properties["to"] == "decision"
    assert changed.message_id == signals.signal_id(cause.message_id, "Journey Stage Changed")
    again = ev("Product Added", T0 + 2 * DAY, product_id="t")
    assert stage.transition(after, reducer.reduce(after, again), again, T0 + 2 * DAY) is None


def test_returning_lapsed_customer_transitions_out_of_lapsed() -> None:
    before = run(
        ev("Order Completed", order_id="o1"), ev("Order Completed", T0 + DAY, order_id="o2")
    )
    back = ev("Home", T0 + 200 * DAY, type="page")
    changed = stage.transition(before, reducer.reduce(before, back), back, back.timestamp)
    assert changed is not None
    assert (changed.properties["from"], changed.properties["to"]) == ("lapsed", "loyalty")
