"""Arbitration: which of the messages that journeys want to send to one customer may leave.

:func:`arbitrate` takes the send candidates of one moment for one profile (what one event or
timer produced across all journeys) and decides each: ``allowed``, ``deferred`` until a time,
or ``suppressed`` with a reason. The checks, in order:

1. **Global control group** (``global_control``): a fixed share of profiles, chosen by a hash
   of the profile id (:func:`in_global_control`), receives no marketing from any journey.
2. **Consent** (``no_consent:<channel>:<purpose>``): ``consent["email:marketing"]`` decides,
   else ``consent["email"]``; without either, marketing on an opt-in channel (email, SMS,
   push: :mod:`juncture.core.channels`) is refused and everything else is allowed.
3. **Priority** (``lower_priority``): when marketing from several journeys competes at once,
   the journey with the highest priority wins (ties: the smaller journey id) and the others
   are suppressed, not deferred: a deferred message would land on top of the winner's, and
   their journeys carry on to their next steps anyway.
4. **Quiet hours and send windows**: marketing on a quiet channel inside quiet hours
   (customer's time zone) is deferred to the end of quiet hours, and marketing outside its
   journey's send window (weekdays and hours, :mod:`~juncture.core.journeys.windows`; not
   on site) to the window's next opening (``send_window``), not dropped.
5. **Frequency caps** (``frequency_cap:<channel>:day|week``, ``global_cap``): marketing
   contacts per channel and across channels per calendar day and week (from Monday) in the
   customer's time zone, counted at the time the message would leave (after any deferral),
   including the messages allowed earlier in the same call.

Transactional messages pass every check but an explicit consent refusal. A deferred message
should be arbitrated again when it falls due (the history may have changed by then).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from juncture.core.channels import ON_SITE, OPT_IN, QUIET
from juncture.core.journeys.commands import Send
from juncture.core.journeys.machine import bucket
from juncture.core.journeys.state import local_zone

Outcome = Literal["allowed", "deferred", "suppressed"]


@dataclass(frozen=True, slots=True)
class Cap:
    """At most ``day`` and ``week`` contacts (``None``: no limit)."""

    day: int | None = None
    week: int | None = None


@dataclass(frozen=True, slots=True)
class QuietHours:
    """Local hours without marketing on ``channels``; ``start`` after ``end`` wraps midnight."""

    start: dt.time = dt.time(21)
    end: dt.time = dt.time(8)
    channels: frozenset[str] = QUIET

    def end_after(self, local: dt.datetime) -> dt.datetime | None:
        """When quiet hours around ``local`` end, or None if ``local`` is not in them."""
        now = local.time().replace(tzinfo=None)
        wraps = self.start > self.end
        inside = (now >= self.start or now < self.end) if wraps else self.start <= now < self.end
        if not inside:
            return None
        day = local.date() + dt.timedelta(days=1 if wraps and now >= self.start else 0)
        return dt.datetime.combine(day, self.end, tzinfo=local.tzinfo)


@dataclass(frozen=True, slots=True)
class Policy:
    channel_caps: Mapping[str, Cap] = field(default_factory=dict)
    global_cap: Cap = Cap()
    quiet_hours: QuietHours | None = None
    global_control_percent: float = 0.0
    opt_in_channels: frozenset[str] = OPT_IN
    default_timezone: str = "UTC"


@dataclass(frozen=True, slots=True)
class Contact:
    """A message that left (or is due to leave) the outbox."""

    at: dt.datetime
    channel: str
    purpose: str
    journey_id: str = ""


@dataclass(frozen=True, slots=True)
class ContactHistory:
    """The profile's recent contacts: at least the last week's marketing."""

    contacts: tuple[Contact, ...] = ()

    def count(self, start: dt.datetime, end: dt.datetime, channel: str | None = None) -> int:
        """Marketing contacts in ``[start, end)``, on ``channel`` or on any channel."""
        return sum(
            1
            for c in self.contacts
            if c.purpose == "marketing"
            and start <= c.at < end
            and (channel is None or c.channel == channel)
        )

    def plus(self, send: Send, at: dt.datetime) -> ContactHistory:
        return ContactHistory((*self.contacts, Contact(at, send.channel, send.purpose)))


@dataclass(frozen=True, slots=True)
class Decision:
    send: Send
    outcome: Outcome
    reason: str | None = None
    until: dt.datetime | None = None


def in_global_control(profile_id: str, percent: float) -> bool:
    """Whether the profile is in the global control group of ``percent`` percent."""
    return percent > 0 and bucket("global-control", profile_id) * 100 < percent


def arbitrate(
    candidates: Sequence[Send],
    history: ContactHistory,
    policy: Policy,
    *,
    consent: Mapping[str, bool],
    timezone: str | None,
    now: dt.datetime,
) -> list[Decision]:
    """One decision per candidate, in the candidates' order."""
    zone = local_zone(timezone, policy.default_timezone)
    decided: dict[int, Decision] = {}
    contenders: list[int] = []
    for index, send in enumerate(candidates):
        reason = _refusal(send, policy, consent)
        if reason is not None:
            decided[index] = Decision(send, "suppressed", reason)
        elif send.purpose != "marketing":
            decided[index] = Decision(send, "allowed")
        else:
            contenders.append(index)
    if contenders:
        winner = min((-candidates[i].priority, candidates[i].journey_id) for i in contenders)[1]
        for index in contenders:
            send = candidates[index]
            if send.journey_id != winner:
                decided[index] = Decision(send, "suppressed", "lower_priority")
                continue
            decided[index] = _timed(send, history, policy, now.astimezone(zone))
            if decided[index].outcome != "suppressed":
                history = history.plus(send, decided[index].until or now)
    return [decided[i] for i in range(len(candidates))]


def _refusal(send: Send, policy: Policy, consent: Mapping[str, bool]) -> str | None:
    marketing = send.purpose == "marketing"
    if marketing and in_global_control(send.profile_id, policy.global_control_percent):
        return "global_control"
    given = consent.get(f"{send.channel}:{send.purpose}", consent.get(send.channel))
    if given is None:
        given = not (marketing and send.channel in policy.opt_in_channels)
    return None if given else f"no_consent:{send.channel}:{send.purpose}"


def _timed(send: Send, history: ContactHistory, policy: Policy, local: dt.datetime) -> Decision:
    until, reason = _waits(send, policy, local)
    capped = _capped(send.channel, history, policy, until or local)
    if capped is not None:
        return Decision(send, "suppressed", capped)
    if until is not None:
        return Decision(send, "deferred", reason, until=until.astimezone(dt.UTC))
    return Decision(send, "allowed")


def _waits(send: Send, policy: Policy, local: dt.datetime) -> tuple[dt.datetime | None, str | None]:
    """When a marketing message may leave: outside quiet hours and inside its journey's
    send window (a window that opens in quiet hours waits for their end, and so on); the
    reason is ``send_window`` when the window made it wait (quiet hours say none)."""
    quiet = policy.quiet_hours if policy.quiet_hours else None
    if quiet is not None and send.channel not in quiet.channels:
        quiet = None
    window = send.window if send.channel != ON_SITE else None
    at, reason = local, None
    for _ in range(4):
        end = quiet.end_after(at) if quiet is not None else None
        opens = window.opens_after(end or at) if window is not None else None
        if end is None and opens is None:
            break
        at, reason = opens or end or at, "send_window" if opens else reason
    return (None if at == local else at), reason


def _capped(channel: str, history: ContactHistory, policy: Policy, at: dt.datetime) -> str | None:
    day_start = dt.datetime.combine(at.date(), dt.time(), tzinfo=at.tzinfo)
    week_start = day_start - dt.timedelta(days=at.weekday())
    windows = {
        "day": (day_start, _add_days(day_start, 1)),
        "week": (week_start, _add_days(week_start, 7)),
    }
    cap = policy.channel_caps.get(channel, Cap())
    for period, (start, end) in windows.items():
        limit = cap.day if period == "day" else cap.week
        if limit is not None and history.count(start, end, channel) >= limit:
            return f"frequency_cap:{channel}:{period}"
    for period, (start, end) in windows.items():
        limit = policy.global_cap.day if period == "day" else policy.global_cap.week
        if limit is not None and history.count(start, end) >= limit:
            return "global_cap"
    return None


def _add_days(local_midnight: dt.datetime, days: int) -> dt.datetime:
    """Midnight ``days`` later on the wall clock (a DST day is 23 or 25 hours long)."""
    date = local_midnight.date() + dt.timedelta(days=days)
    return dt.datetime.combine(date, dt.time(), tzinfo=local_midnight.tzinfo)
