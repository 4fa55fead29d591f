"""Taking a failed commit apart, so that one event the engine or the store cannot take
never fails the others (see :mod:`juncture.runtime.committer`).

Each try is a transaction of its own through ``append``. Events keep their order: the first
half of a failing run commits before the second, so one customer's events are still
processed in the order they arrived.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import msgspec

from juncture.core import events as ev
from juncture.core.events import Event
from juncture.core.messages import Rejection
from juncture.errors import StoreUnavailable
from juncture.runtime.unit_of_work import AppendResult, Processor
from juncture.store.base import Quarantined

log = logging.getLogger("juncture.isolation")

Append = Callable[[Sequence[Event], Sequence[Quarantined], Processor | None], AppendResult]
UNPROCESSABLE = "unprocessable"
_REASON_CHARS = 300


@dataclass(slots=True)
class Split:
    """What the tries of one run of events did."""

    stored: list[Event] = field(default_factory=list)  # with the derived events
    poisoned: list[tuple[Event, str]] = field(default_factory=list)  # with the reason

    def add(self, other: Split) -> None:
        self.stored.extend(other.stored)
        self.poisoned.extend(other.poisoned)


def bisect(append: Append, events: Sequence[Event], process: Processor | None) -> Split:
    """Commit ``events`` in as few transactions as the failures allow; the events that fail
    alone are returned with the reason, uncommitted."""
    if not events:
        return Split()
    try:
        return Split(stored=list(append(events, (), process).stored))
    except StoreUnavailable:
        raise  # the store itself, not these events: every request retries
    except Exception as exc:  # noqa: BLE001 - any failure here is these events' doing
        if len(events) == 1:
            log.warning("one event could not be processed (%s): quarantined", type(exc).__name__)
            return Split(poisoned=[(events[0], reason(exc))])
    middle = len(events) // 2
    split = bisect(append, events[:middle], process)
    split.add(bisect(append, events[middle:], process))
    return split


def reason(exc: BaseException) -> str:
    """The failure, as kept with the quarantined event (never logged: it may quote data)."""
    text = f"the engine or the store could not process it: {type(exc).__name__}: {exc}"
    return text[:_REASON_CHARS]


def quarantine(poisoned: Sequence[tuple[Event, str]]) -> list[Quarantined]:
    """Quarantine rows for events that failed alone, in the form replay reads back: the
    event as the API shows it, received when it was first received."""
    out: dict[tuple[str, dt.datetime], list[Rejection]] = {}
    for event, why in poisoned:
        raw = msgspec.json.encode(ev.to_json(event))
        rejection = Rejection(
            index=0,
            code=UNPROCESSABLE,
            message=why,
            path="$",
            raw=raw,
            message_id=event.message_id,
        )
        out.setdefault((event.source, event.received_at), []).append(rejection)
    return [Quarantined(source, at, found) for (source, at), found in out.items()]
