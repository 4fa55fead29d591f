"""Timer commands the pure core returns, and the ids of the events timers derive.

The runtime keeps one durable timer per ``key``: :class:`ScheduleTimer` creates it or moves
it, :class:`CancelTimer` deletes it. A due timer comes back to the core (``engine.fire``),
which decides whether it is still current. Every stage uses these two, each timer with a
``kind`` of its own: the abandonment signals, the journey stage, segment membership, dates
and journey waits (``journeys.commands.JOURNEY_TIMER``).
"""

from __future__ import annotations

import datetime as dt
import hashlib

import msgspec


class ScheduleTimer(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """Create the timer ``key``, or move it to ``due_at`` if it exists."""

    key: str
    due_at: dt.datetime
    kind: str
    profile_id: str


class CancelTimer(msgspec.Struct, frozen=True, kw_only=True, tag=True):
    """Delete the timer ``key`` if it exists."""

    key: str


TimerCommand = ScheduleTimer | CancelTimer


def signal_id(cause_message_id: str, name: str) -> str:
    """The message id of the derived event ``name`` caused by a message (or a timer).

    >>> signal_id("m-1", "Cart Intent")
    'sig-66557fae53c3d771e702ed99532d03f7'
    """
    digest = hashlib.sha256(f"{cause_message_id}\x00{name}".encode()).hexdigest()
    return "sig-" + digest[:32]
