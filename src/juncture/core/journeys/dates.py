"""Date traits as timers: a trait that holds a day becomes an event on that day.

Days start at midnight in the customer's ``timezone`` trait (UTC when it has none).

- **One-off** (a ``date`` trigger, e.g. ``replenish_at: 2026-05-05``): ``Date Reached`` on
  the day itself; a day already past sets nothing.
- **Yearly** (``date`` with ``every: year``, e.g. ``birthday: 1990-05-06``): ``Anniversary
  Reached`` on the date's month and day each year, from the date itself on (29 February
  falls on the 28th in other years). Firing sets the timer for the next year.

Setting, moving or clearing the trait, or changing the time zone, moves or cancels the timer.
The events carry the day's midnight as their time, so a timer that fires on time is never
"late" for the journeys' entry-lag rule, however old the date in the trait is.
"""

from __future__ import annotations

import datetime as dt
from typing import Final

from juncture.core import bounds, signals
from juncture.core.events import Event
from juncture.core.journeys.spec import ANNIVERSARY_REACHED, DATE_REACHED
from juncture.core.journeys.state import local_zone
from juncture.core.profile.model import Profile
from juncture.core.profile.reducer import DERIVED_SOURCE
from juncture.core.signals import CancelTimer, ScheduleTimer, TimerCommand

DATE_TIMER: Final = "date"
ANNIVERSARY_TIMER: Final = "anniversary"
_DAY: Final = dt.timedelta(days=1)


def date_due(value: object, timezone: object) -> dt.datetime | None:
    """When a date trait falls due: a date (``2026-05-05``) at midnight in the customer's
    time zone, a time with an offset at that moment; None for anything else.

    >>> date_due("2026-05-05", "Europe/Berlin").isoformat()
    '2026-05-04T22:00:00+00:00'
    """
    if not isinstance(value, str):
        return None
    try:
        if len(value) == 10:
            return _bounded(_midnight(dt.date.fromisoformat(value), timezone))
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
        return _bounded(moment.astimezone(dt.UTC)) if moment.tzinfo else None
    except (ValueError, OverflowError):
        return None


def anniversary_due(value: object, timezone: object, since: dt.datetime) -> dt.datetime | None:
    """The first yearly return of the day in ``value`` on or after ``since``'s local day, at
    local midnight; never before the day itself. ``value``: a date (``1990-05-06``), a
    timestamp whose date part counts as written (``1990-05-06T00:00:00Z``, as trackers send
    a birthday), or a day without a year (``--05-06``); None for anything else.

    >>> now = dt.datetime(2026, 5, 4, 10, tzinfo=dt.UTC)
    >>> anniversary_due("1990-05-06", "Europe/Berlin", now).isoformat()
    '2026-05-05T22:00:00+00:00'
    >>> anniversary_due("1990-05-03T00:00:00.000Z", "UTC", now).isoformat()
    '2027-05-03T00:00:00+00:00'
    >>> anniversary_due("2000-02-29", "UTC", now).isoformat()
    '2027-02-28T00:00:00+00:00'
    >>> anniversary_due("2027-09-01", "UTC", now).isoformat()
    '2027-09-01T00:00:00+00:00'
    """
    born = _day(value)
    if born is None:
        return None
    first = since.astimezone(local_zone(timezone)).date()
    try:
        return _bounded(_midnight(_on_or_after(born, first), timezone))
    except (ValueError, OverflowError):
        return None


def _bounded(due: dt.datetime) -> dt.datetime | None:
    """A day outside the range every stage can compute with sets no timer (``0001-01-01``
    or ``9999-12-31`` in a trait is a placeholder, not a day to act on)."""
    return due if bounds.within_time(due) else None


def timers(
    before: Profile,
    after: Profile,
    once: frozenset[str],
    yearly: frozenset[str],
    since: dt.datetime,
) -> list[TimerCommand]:
    """A timer for each watched date trait that changed (set, moved or cleared), or all of
    them when the time zone changed. ``since``: when the change became known."""
    if after.traits is before.traits:
        return []  # the usual event: no trait changed
    zone = after.traits.get("timezone")
    moved_zone = zone != before.traits.get("timezone")
    out: list[TimerCommand] = []
    for kind, traits in ((DATE_TIMER, once), (ANNIVERSARY_TIMER, yearly)):
        for trait in sorted(traits):
            value, old = after.traits.get(trait), before.traits.get(trait)
            if value == old and (value is None or not moved_zone):
                continue
            key = f"{kind}:{after.profile_id}:{trait}"
            due = (
                date_due(value, zone) if kind == DATE_TIMER else anniversary_due(value, zone, since)
            )
            if due is None:
                out.append(CancelTimer(key=key))
            else:
                out.append(
                    ScheduleTimer(key=key, due_at=due, kind=kind, profile_id=after.profile_id)
                )
    return out


def reached(
    current: Profile, timer: ScheduleTimer, now: dt.datetime, yearly: frozenset[str]
) -> tuple[list[Event], list[TimerCommand]]:
    """The event of a due date timer (none when the trait has changed since: a newer timer
    stands), and for a yearly one still watched (``yearly``), the timer of the next year."""
    trait = timer.key.rsplit(":", 1)[1]
    value, zone = current.traits.get(trait), current.traits.get("timezone")
    if timer.kind == DATE_TIMER:
        if date_due(value, zone) != timer.due_at:
            return [], []
        properties = {"trait": trait, "date": value}
        return [_event(current, timer, now, DATE_REACHED, properties)], []
    if trait not in yearly or anniversary_due(value, zone, timer.due_at) != timer.due_at:
        return [], []
    return _anniversary(current, timer, now, trait)


def _anniversary(
    current: Profile, timer: ScheduleTimer, now: dt.datetime, trait: str
) -> tuple[list[Event], list[TimerCommand]]:
    value, zone = current.traits.get(trait), current.traits.get("timezone")
    day = timer.due_at.astimezone(local_zone(zone)).date()
    properties = {"trait": trait, "date": value, "on": day.isoformat(), **_years(value, day)}
    event = _event(current, timer, now, ANNIVERSARY_REACHED, properties)
    # From the day after, or after today when the scheduler was down past it: one a year.
    later = max(day, now.astimezone(local_zone(zone)).date()) + _DAY
    following = anniversary_due(value, zone, _midnight(later, zone))
    if following is None:
        return [event], []
    pid = current.profile_id
    return [event], [
        ScheduleTimer(key=timer.key, due_at=following, kind=timer.kind, profile_id=pid)
    ]


def _event(
    current: Profile,
    timer: ScheduleTimer,
    now: dt.datetime,
    name: str,
    properties: dict[str, object],
) -> Event:
    # The id a replay gives again; a yearly event's names its day: one per year, not one ever.
    cause = "@".join(str(properties[k]) for k in ("trait", "date", "on") if k in properties)
    return Event(
        source=DERIVED_SOURCE,
        message_id=signals.signal_id(f"{current.profile_id}@{cause}", name),
        type="track",
        event=name,
        timestamp=timer.due_at,
        received_at=now,
        profile_id=current.profile_id,
        properties=properties,
    )


def _day(value: object) -> tuple[int | None, int, int] | None:
    """(year or None, month, day) of a date trait, or None when it holds no day."""
    if not isinstance(value, str):
        return None
    try:
        if value.startswith("--") and len(value) == 7:
            day = dt.date(2000, int(value[2:4]), int(value[5:7]))  # a leap year: 29 Feb is fine
            return None, day.month, day.day
        if len(value) == 10 or (len(value) > 10 and value[10] in "T "):
            day = dt.date.fromisoformat(value[:10])
            return day.year, day.month, day.day
    except ValueError:
        return None
    return None


def _on_or_after(born: tuple[int | None, int, int], first: dt.date) -> dt.date:
    year, month, day = born
    if year is not None and dt.date(year, month, day) > first:
        return dt.date(year, month, day)
    found = _in_year(month, day, first.year)
    return found if found >= first else _in_year(month, day, first.year + 1)


def _in_year(month: int, day: int, year: int) -> dt.date:
    try:
        return dt.date(year, month, day)
    except ValueError:  # 29 February in a year without one
        return dt.date(year, 2, 28)


def _years(value: object, on: dt.date) -> dict[str, int]:
    born = _day(value)
    return {} if born is None or born[0] is None else {"years": on.year - born[0]}


def _midnight(day: dt.date, timezone: object) -> dt.datetime:
    local = dt.datetime.combine(day, dt.time(0), tzinfo=local_zone(timezone))
    return local.astimezone(dt.UTC)
