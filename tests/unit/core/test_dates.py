"""Date traits as timers, in the pure core: when they fall due and what firing gives."""

from __future__ import annotations

import datetime as dt

import pytest

from juncture.core.events import Event
from juncture.core.journeys import dates
from juncture.core.profile.model import Profile
from juncture.core.signals import CancelTimer, ScheduleTimer, TimerCommand

YEARLY = frozenset({"birthday"})


def utc(year: int, month: int, day: int, hour: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, tzinfo=dt.UTC)


def person(**traits: object) -> Profile:
    return Profile(profile_id="p1", traits=dict(traits))


def fire(
    current: Profile, due: dt.datetime, now: dt.datetime | None = None
) -> tuple[list[Event], list[TimerCommand]]:
    timer = ScheduleTimer(key="anniversary:p1:birthday", due_at=due, kind="anniversary",
                          profile_id="p1")  # fmt: skip
    return dates.reached(current, timer, now or due, YEARLY)


def test_a_leap_day_birthday_falls_on_the_28th_in_other_years_and_the_29th_in_leap_ones() -> None:
    leapling = person(birthday="2000-02-29")
    events, [rearm] = fire(leapling, utc(2027, 2, 28))
    assert [(e.properties["on"], e.properties["years"]) for e in events] == [("2027-02-28", 27)]
    assert isinstance(rearm, ScheduleTimer)
    assert rearm.due_at == utc(2028, 2, 29)
    events, [rearm] = fire(leapling, utc(2028, 2, 29))
    assert [e.properties["on"] for e in events] == ["2028-02-29"]
    assert isinstance(rearm, ScheduleTimer)
    assert rearm.due_at == utc(2029, 2, 28)


def test_each_year_has_its_own_event_id_and_the_same_year_the_same() -> None:
    ada = person(birthday="1990-05-06")
    [first], _ = fire(ada, utc(2026, 5, 6))
    [again], _ = fire(ada, utc(2026, 5, 6))
    [second], _ = fire(ada, utc(2027, 5, 6))
    assert first.message_id == again.message_id != second.message_id
    assert first.timestamp == utc(2026, 5, 6)  # the day's midnight, not the firing time


def test_a_timer_fired_late_rearms_after_today_not_on_a_day_already_gone() -> None:
    _, [rearm] = fire(person(birthday="1990-05-06"), utc(2026, 5, 6), now=utc(2028, 1, 1))
    assert isinstance(rearm, ScheduleTimer)
    assert rearm.due_at == utc(2028, 5, 6)


@pytest.mark.parametrize(
    "traits",
    [
        {"birthday": "1990-05-07"},  # moved since the timer was set: a newer one stands
        {"birthday": None},
        {"birthday": "1990-05-06", "timezone": "Asia/Tokyo"},  # another midnight now
    ],
)
def test_a_stale_timer_emits_nothing_and_sets_nothing(traits: dict[str, object]) -> None:
    assert fire(person(**traits), utc(2026, 5, 6)) == ([], [])


def test_a_trait_no_journey_watches_yearly_any_more_stops() -> None:
    timer = ScheduleTimer(key="anniversary:p1:birthday", due_at=utc(2026, 5, 6),
                          kind="anniversary", profile_id="p1")  # fmt: skip
    assert dates.reached(person(birthday="1990-05-06"), timer, utc(2026, 5, 6), frozenset()) == (
        [],
        [],
    )


@pytest.mark.parametrize("value", ["--05-06", "1990-05-06T00:00:00.000Z", "1990-05-06 08:00"])
def test_birthdays_without_a_year_or_as_timestamps_count_by_their_date(value: str) -> None:
    assert dates.anniversary_due(value, "UTC", utc(2026, 1, 1)) == utc(2026, 5, 6)


@pytest.mark.parametrize("value", ["", "06/05/1990", "1990-13-01", "--02-30", 19900506, None])
def test_what_is_not_a_date_sets_no_timer(value: object) -> None:
    assert dates.anniversary_due(value, "UTC", utc(2026, 1, 1)) is None


def test_clearing_or_moving_the_time_zone_moves_the_timers() -> None:
    before = person(birthday="1990-05-06", replenish_at="2026-06-01")
    moved = dates.timers(before, person(**before.traits, timezone="Asia/Tokyo"),
                         frozenset({"replenish_at"}), YEARLY, utc(2026, 5, 4))  # fmt: skip
    assert [(t.key, getattr(t, "due_at", None)) for t in moved] == [
        ("date:p1:replenish_at", utc(2026, 5, 31, 15)),
        ("anniversary:p1:birthday", utc(2026, 5, 5, 15)),
    ]
    cleared = dates.timers(before, person(), frozenset(), YEARLY, utc(2026, 5, 4))
    assert cleared == [CancelTimer(key="anniversary:p1:birthday")]
