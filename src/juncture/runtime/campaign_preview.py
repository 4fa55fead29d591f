"""What a campaign would do to each member of its audience, before it is launched.

Each member's ``Campaign Started`` event, as the launch would give it (same message id),
goes through the same journey step the engine runs (:func:`juncture.core.journeys.
orchestrate.react`, with the campaign's journey alone in the catalog) on the member's
stored profile, enrollments and marketing contacts of the last week, at the planned send
time. So the preview's reasons are the engine's: ``holdout``, ``no_recipient:<channel>``
(no address), ``global_control``, ``no_consent:<channel>:<purpose>``,
``frequency_cap:<channel>:day|week``, ``global_cap``; quiet hours and the send window defer
(``quiet_hours``, ``send_window``) rather than drop. A message that would leave is then
checked as the dispatcher checks it against the address suppressions (bounces, complaints,
STOP: ``suppressed:<reason>``). Members the campaign already started are counted apart
(a launch reaches nobody twice).

Nothing is written. What it cannot foresee: contacts that other journeys add between the
preview and the send, and what the template decides at the send (an empty cart, nothing to
recommend).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from juncture.core.events import Event
from juncture.core.journeys import orchestrate
from juncture.core.journeys.catalog import Catalog
from juncture.core.journeys.orchestrate import JourneyConfig, JourneyState, Message
from juncture.runtime.addresses import address
from juncture.runtime.engine import HISTORY
from juncture.store import audience
from juncture.store.recipients import Recipients


@dataclass
class Tally:
    """What the members of a preview would get, counted."""

    send: int = 0
    deferred: Counter[str] = field(default_factory=Counter)
    suppressed: Counter[str] = field(default_factory=Counter)
    already_started: int = 0

    def to_json(self) -> dict[str, Any]:
        return {
            "wouldSend": self.send + sum(self.deferred.values()),
            "sendNow": self.send,
            "deferred": dict(sorted(self.deferred.items())),
            "suppressed": dict(sorted(self.suppressed.items())),
            "alreadyStarted": self.already_started,
        }


@dataclass(frozen=True, slots=True)
class Plan:
    """The campaign's journey (its only version), the event each member would get, when."""

    catalog: Catalog
    journey_id: str
    event: str
    properties: dict[str, Any]
    message_id: str  # with ``{pid}``: the launch's message id of each member's event
    at: dt.datetime


def tally(
    plan: Plan,
    pages: Iterable[Sequence[str]],
    recipients: Recipients,
    config: JourneyConfig,
) -> Tally:
    """Each page of members through the journey step, then the address suppressions."""
    found = Tally()
    for page in pages:
        read = audience.read(recipients.engine, page, plan.at - HISTORY)
        messages: list[Message] = []
        for pid in page:
            profile = read.profiles.get(pid)
            if profile is None:
                continue  # merged away or erased since the segment was read
            state = read.states.get(pid, JourneyState())
            mine = tuple(e for e in state.enrollments if e.journey_id == plan.journey_id)
            out = orchestrate.react(
                plan.catalog, JourneyState(mine, state.history), profile,
                [_event(plan, pid, read.users.get(pid))], config, user_id=read.users.get(pid),
            )  # fmt: skip
            if not out.messages:
                found.already_started += 1
            messages.extend(out.messages)
        _count(found, messages, recipients)
    return found


def _event(plan: Plan, pid: str, user_id: str | None) -> Event:
    return Event(
        source="campaigns",
        message_id=plan.message_id.format(pid=pid),
        type="track",
        event=plan.event,
        timestamp=plan.at,
        received_at=plan.at,
        profile_id=pid,
        user_id=user_id,
        properties=dict(plan.properties),
    )


def _count(found: Tally, messages: Sequence[Message], recipients: Recipients) -> None:
    leaving = [m for m in messages if m.status != "suppressed"]
    for m in messages:
        if m.status == "suppressed":
            found.suppressed[m.reason or "suppressed"] += 1
    by_channel: dict[tuple[str, str], list[str]] = {}
    addresses = {m.idempotency_key: address(m.channel, m.purpose, m.payload) for m in leaving}
    for m in leaving:
        if (to := addresses[m.idempotency_key]) is not None:
            by_channel.setdefault((m.channel, m.purpose), []).append(to)
    barred = {
        (channel, purpose, to): why
        for (channel, purpose), tos in by_channel.items()
        for to, why in recipients.suppressions(channel, tos, purpose).items()
    }
    for m in leaving:
        why = barred.get((m.channel, m.purpose, addresses[m.idempotency_key] or ""))
        if why is not None:
            found.suppressed[f"suppressed:{why}"] += 1
        elif m.status == "deferred":
            found.deferred[m.reason or "deferred"] += 1
        else:
            found.send += 1
