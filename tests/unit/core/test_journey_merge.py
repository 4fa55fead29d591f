"""Journey state of two profiles that merge (pure)."""

from __future__ import annotations

import datetime as dt

from juncture.core import signals
from juncture.core.journeys import merge as journey_merge
from juncture.core.journeys.arbitration import Contact, ContactHistory
from juncture.core.journeys.orchestrate import JourneyState
from juncture.core.journeys.state import Enrollment, Waiting

T0 = dt.datetime(2026, 5, 4, 10, 0, tzinfo=dt.UTC)


def enrollment(eid: str, pid: str, journey: str, minute: int, key: str | None = None) -> Enrollment:
    return Enrollment(
        id=eid,
        journey_id=journey,
        version=1,
        profile_id=pid,
        key=key,
        node="wait",
        entered_at=T0 + dt.timedelta(minutes=minute),
        waiting=Waiting(f"{eid}:wait", T0 + dt.timedelta(hours=1, minutes=minute)),
    )


def test_the_merged_profiles_enrollments_move_and_their_timers_follow() -> None:
    a = JourneyState((enrollment("e1", "A", "welcome", 0),))
    b = JourneyState((enrollment("e2", "B", "cart", 1, key="c1"),))
    done = journey_merge.absorb(a, b, "A", T0 + dt.timedelta(minutes=5))
    assert {(e.id, e.profile_id, e.active) for e in done.state.enrollments} == {
        ("e1", "A", True),
        ("e2", "A", True),
    }
    assert [e.id for e in done.changed] == ["e2"]
    [timer] = done.timers
    assert isinstance(timer, signals.ScheduleTimer)
    assert (timer.key, timer.profile_id) == ("j:e2:wait", "A")


def test_one_active_enrollment_per_journey_and_key_survives_whichever_side_it_was_on() -> None:
    early, late = enrollment("e1", "B", "welcome", 0), enrollment("e2", "A", "welcome", 3)
    for survivor, merged in (((late,), (early,)), ((early,), (late,))):
        pid = survivor[0].profile_id
        done = journey_merge.absorb(JourneyState(survivor), JourneyState(merged), pid, T0)
        by_id = {e.id: e for e in done.state.enrollments}
        assert by_id["e1"].active and not by_id["e2"].active
        assert by_id["e2"].exit_reason == "merged" and by_id["e2"].waiting is None
        assert signals.CancelTimer(key="j:e2:wait") in done.timers


def test_different_keys_of_one_journey_both_go_on() -> None:
    a = JourneyState((enrollment("e1", "A", "cart", 0, key="c1"),))
    b = JourneyState((enrollment("e2", "B", "cart", 1, key="c2"),))
    done = journey_merge.absorb(a, b, "A", T0)
    assert all(e.active for e in done.state.enrollments)


def test_contacts_are_pooled_for_frequency_caps() -> None:
    mail = Contact(T0, "email", "marketing", "welcome")
    sms = Contact(T0 + dt.timedelta(hours=1), "sms", "marketing", "cart")
    a = JourneyState(history=ContactHistory((sms,)))
    b = JourneyState(history=ContactHistory((mail,)))
    done = journey_merge.absorb(a, b, "A", T0)
    assert done.state.history.count(T0, T0 + dt.timedelta(days=1)) == 2
