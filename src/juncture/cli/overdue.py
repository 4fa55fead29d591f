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

With the distributed log the work is shared: ``juncture worker`` fires the timers and
``juncture serve`` sends the messages. Each takes the same options and decides at its start
about its own part: a worker weighs the overdue timers and, held, fires none (its engine
holds them and it does not tick), events applied as usual; a server weighs the queued
messages and, held, sends none.
"""

from __future__ import annotations

import datetime as dt
import enum
import sys
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, NamedTuple

import typer
from rich.console import Console

if TYPE_CHECKING:
    from juncture.store.overdue import Overdue as Found
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


Overdue = Annotated[OnOverdue, typer.Option(help=OVERDUE_HELP)]
OverdueAfter = Annotated[
    float, typer.Option(min=0, help="Hours past due before work counts as overdue")
]


@dataclass(frozen=True, slots=True)
class Holder:
    """A command that may hold overdue work: its name, its part (the timers it fires, the
    messages it sends) and what holding means for it."""

    command: str
    timers: bool
    messages: bool
    held: str


SERVER = Holder(
    "serve", True, True, "Nothing fires and no message is sent while this server runs; "
    "the API answers as usual",
)  # fmt: skip
NODE = Holder(
    "serve", False, True, "No message is sent while this server runs; the API answers as "
    "usual (the workers fire the timers, held by juncture worker's own --overdue)",
)  # fmt: skip  # an ingestion node of the distributed log
WORKER = Holder(
    "worker", True, False, "No timer fires while this worker runs; events are applied as usual"
)


def fire(
    store: SqlStore,
    choice: OnOverdue,
    after_hours: float,
    now: dt.datetime,
    holder: Holder = SERVER,
) -> bool:
    """Whether ``holder`` may do its part (fire the timers, send the messages): True when
    none of its part is overdue, with ``fire``, or when the user says so at the prompt."""
    from juncture.store.overdue import overdue

    mine = _parts(overdue(store.engine, now - dt.timedelta(hours=after_hours)), holder)
    if not any(part.late for part in mine) or choice is OnOverdue.FIRE:
        return True
    oldest = min((part.oldest for part in mine if part.oldest is not None), default=None)
    since = f"{oldest:%Y-%m-%d %H:%M} UTC" if oldest else "long ago"
    what = (
        f"{' and '.join(part.name for part in mine)} are overdue "
        f"(due more than {after_hours:g} hours ago, the oldest at {since})"
    )
    doing = " and ".join(part.verb for part in mine)
    question = f"{what}. {doing.capitalize()} now?"
    if choice is OnOverdue.ASK and sys.stdin.isatty() and typer.confirm(question, default=False):
        return True
    console.print(
        f"[yellow]{what}: held. {holder.held}. "
        f"To {doing}: juncture {holder.command} --overdue fire[/]"
    )
    return False


class _Part(NamedTuple):
    name: str  # "3 timers"
    verb: str  # "fire the timers"
    late: int
    oldest: dt.datetime | None


def _parts(found: Found, holder: Holder) -> list[_Part]:
    """The overdue work that is ``holder``'s part."""
    parts: list[_Part] = []
    if holder.timers:
        timers = f"{found.timers:,} timers"
        parts.append(_Part(timers, "fire the timers", found.timers, found.oldest_timer))
    if holder.messages:
        queued = f"{found.messages:,} queued messages"
        parts.append(_Part(queued, "send the messages", found.messages, found.oldest_message))
    return parts
