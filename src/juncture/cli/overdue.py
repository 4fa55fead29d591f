"""``juncture serve`` on a database with long-overdue work: say what is pending and let the
user choose, instead of firing weeks of timers and sending the queue at the first start.

The demo's database is the usual case: its clock ran ahead through simulated weeks, so
served at wall time every timer and queued message of those weeks is due at once, to
customers who are simulated but have addresses. ``--overdue fire`` fires them (what a server
back from a short outage wants), ``--overdue hold`` serves the API without the scheduler and
the dispatcher, and with an engine that fires no timer (``Engine.hold_timers``: not in the
commits that apply events either, inline or behind the log, on a thread or in the engine's
process), so nothing fires and nothing is sent while it runs; ``ask`` (the default)
asks on a terminal and holds otherwise, printing how to fire. Work due within
``--overdue-after`` hours is not overdue and always fires.
"""

from __future__ import annotations

import datetime as dt
import enum
import sys
from typing import TYPE_CHECKING

import typer
from rich.console import Console

if TYPE_CHECKING:
    from juncture.store.sql import SqlStore

console = Console(stderr=True)
OVERDUE_HELP = (
    "Timers and messages long overdue (a demo's database): fire them, hold them (serve "
    "without firing or sending), or ask on a terminal (elsewhere: hold)"
)


class OnOverdue(enum.StrEnum):
    ASK = "ask"
    FIRE = "fire"
    HOLD = "hold"


def fire(store: SqlStore, choice: OnOverdue, after_hours: float, now: dt.datetime) -> bool:
    """Whether the server may fire timers and send messages: True when nothing is overdue,
    with ``fire``, or when the user says so at the prompt."""
    from juncture.store.overdue import overdue

    found = overdue(store.engine, now - dt.timedelta(hours=after_hours))
    if not found.any or choice is OnOverdue.FIRE:
        return True
    since = f"{found.oldest:%Y-%m-%d %H:%M} UTC" if found.oldest else "long ago"
    what = (
        f"{found.timers:,} timers and {found.messages:,} queued messages are overdue "
        f"(due more than {after_hours:g} hours ago, the oldest at {since})"
    )
    question = f"{what}. Fire the timers and send the messages now?"
    if choice is OnOverdue.ASK and sys.stdin.isatty() and typer.confirm(question, default=False):
        return True
    console.print(
        f"[yellow]{what}: held. Nothing fires and no message is sent while this server runs; "
        "the API answers as usual. To fire and send them: juncture serve --overdue fire[/]"
    )
    return False
