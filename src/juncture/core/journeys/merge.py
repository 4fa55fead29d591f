"""Journey state when two profiles turn out to be one person.

When identity resolution merges profile B into profile A (a login links the phone's anonymous
visitor to the laptop's customer), B's enrollments move to A: a cart wait started on the
phone is ended by the purchase made under the user id, and re-entry rules see everything the
person went through. At most one enrollment per person per journey and key may be active,
so where both profiles are active in the same journey (same key, or both unkeyed), the one
that entered first goes on and the other ends with the exit reason ``merged``, its timer
cancelled. Recent contacts are pooled, so frequency caps count what both received.

Which enrollment goes on depends only on the enrollments (entry time, then id), never on the
order the two profiles' states were loaded in.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from juncture.core import signals
from juncture.core.journeys import arbitration
from juncture.core.journeys.orchestrate import JOURNEY_TIMER, JourneyState, timer_key
from juncture.core.journeys.state import Enrollment

MERGED: str = "merged"


@dataclass(frozen=True, slots=True)
class Absorbed:
    """The survivor's journey state after the merge, the enrollments that changed (moved to
    the survivor or ended), and the timer commands that follow (re-homed or cancelled)."""

    state: JourneyState
    changed: tuple[Enrollment, ...]
    timers: tuple[signals.TimerCommand, ...]


def absorb(
    survivor: JourneyState, merged: JourneyState, survivor_id: str, now: dt.datetime
) -> Absorbed:
    """``merged``'s journey state moved into ``survivor``'s (the profile ``survivor_id``)."""
    if not merged.enrollments and not merged.history.contacts:
        return Absorbed(survivor, (), ())
    moved = [replace(e, profile_id=survivor_id) for e in merged.enrollments]
    changed: dict[str, Enrollment] = {e.id: e for e in moved}
    timers: list[signals.TimerCommand] = []
    taken: set[tuple[str, str | None]] = set()  # (journey, key) of an active enrollment
    for e in sorted((*survivor.enrollments, *moved), key=lambda e: (e.entered_at, e.id)):
        if not e.active:
            continue
        slot = (e.journey_id, e.key)
        if slot not in taken:
            taken.add(slot)
            continue
        ended = replace(e, exited=True, exit_reason=MERGED, exited_at=now, waiting=None)
        changed[e.id] = ended
        if e.waiting is not None:
            timers.append(signals.CancelTimer(key=timer_key(e.waiting.timer_key)))
    for e in moved:  # a moved wait's timer now belongs to the survivor
        current = changed[e.id]
        if current.active and current.waiting is not None:
            timers.append(
                signals.ScheduleTimer(
                    key=timer_key(current.waiting.timer_key),
                    due_at=current.waiting.due_at,
                    kind=JOURNEY_TIMER,
                    profile_id=survivor_id,
                )
            )
    history = arbitration.ContactHistory(
        tuple(sorted((*survivor.history.contacts, *merged.history.contacts), key=_contact_order))
    )
    state = JourneyState(survivor.enrollments, history).with_enrollments(changed.values())
    return Absorbed(state, tuple(changed.values()), tuple(timers))


def _contact_order(c: arbitration.Contact) -> tuple[dt.datetime, str, str, str]:
    return (c.at, c.channel, c.purpose, c.journey_id)
