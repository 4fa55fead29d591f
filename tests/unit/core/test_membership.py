from __future__ import annotations

import datetime as dt

from juncture.core.events import Event
from juncture.core.profile.model import Profile
from juncture.core.segments import conditions as seg
from juncture.core.segments import membership
from juncture.core.signals import CancelTimer, ScheduleTimer

T0 = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
VIEWS = seg.Segment(
    "views", "Two views in 3 days", seg.Performed("Product Viewed", 3 * DAY, at_least=2)
)
BERLIN = seg.Segment("berlin", "Berlin", seg.FactIs("city", "eq", "Berlin"))
PROFILE = Profile(profile_id="p1")


def view(at: dt.datetime) -> seg.BehaviourEvent:
    return seg.BehaviourEvent("Product Viewed", at)


def test_entering_emits_one_event_and_a_timer_for_when_the_window_slides() -> None:
    history = [view(T0), view(T0 + DAY)]
    r = membership.react((VIEWS, BERLIN), PROFILE, frozenset(), history, T0 + DAY, cause="m1")
    assert r.member_of == {"views"}
    assert [(e.event, e.properties) for e in r.events] == [
        ("Segment Entered", {"segment_id": "views", "segment_name": "Two views in 3 days"})
    ]
    assert r.events[0].timestamp == T0 + DAY
    assert r.events[0].profile_id == "p1"
    assert r.timer == ScheduleTimer(
        key="segment:p1", due_at=T0 + 3 * DAY, kind=membership.SEGMENT_TIMER, profile_id="p1"
    )
    again = membership.react((VIEWS,), PROFILE, r.member_of, history, T0 + DAY, cause="m1")
    assert again.events == ()


def test_a_late_timer_catches_up_through_every_change() -> None:
    history = [view(T0), view(T0 + DAY), view(T0 + 5 * DAY), view(T0 + 6 * DAY)]
    ctx = membership.Context((VIEWS,), {"p1": frozenset({"views"})}, {"p1": history}, {})
    timer = ScheduleTimer(key="segment:p1", due_at=T0 + 3 * DAY, kind="segment", profile_id="p1")
    # History is in the log already (a replay): the tick at day 10 sees exit, entry, exit.
    r = membership.on_timer(ctx, PROFILE, timer, T0 + 10 * DAY)
    assert [e.event for e in r.events] == ["Segment Exited", "Segment Entered", "Segment Exited"]
    assert [e.timestamp for e in r.events] == [T0 + 3 * DAY, T0 + 6 * DAY, T0 + 8 * DAY]
    assert len({e.message_id for e in r.events}) == 3
    assert r.member_of == frozenset()
    assert r.timer == CancelTimer(key="segment:p1")


def test_an_event_evaluates_the_profile_after_it_and_keeps_removed_segments() -> None:
    ctx = membership.Context((BERLIN,), {"p1": frozenset({"gone"})}, {}, {})
    after = Profile(profile_id="p1", traits={"city": "Berlin"})
    cause = Event(source="s", message_id="m9", type="identify", timestamp=T0, received_at=T0)
    r = membership.on_event(ctx, PROFILE, after, [], new=[cause], cause=cause)
    assert r is not None
    assert r.member_of == {"berlin", "gone"}
    assert [e.properties["segment_id"] for e in r.events] == ["berlin"]
    assert r.timer == CancelTimer(key="segment:p1")
    none = membership.Context((), {}, {}, {})
    assert membership.on_event(none, PROFILE, after, [], new=[cause], cause=cause) is None
