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
from typing import TypeVar

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
T = TypeVar("T")


@dataclass(slots=True)
class Split:
    """What the tries of one run of events did."""

    stored: list[Event] = field(default_factory=list)  # with the derived events
    poisoned: list[tuple[Event, str]] = field(default_factory=list)  # with the reason


def halve(
    items: Sequence[T],
    apply: Callable[[Sequence[T]], object],
    set_aside: Callable[[T, Exception], object],
    *,
    passes: tuple[type[Exception], ...],
    halving: Callable[[int, Exception], object] | None = None,
) -> None:
    """``apply`` ``items`` in as few calls as the failures allow, in order: a run that fails
    is halved and each half tried alone (``halving`` hears of it first, with the run's size
    and the failure); one item that fails alone goes to ``set_aside``. The ``passes``
    failures are the store's, not these items': they go to the caller."""
    if not items:
        return
    try:
        apply(items)
        return
    except passes:
        raise
    except Exception as exc:  # noqa: BLE001 - any other failure here is these items' doing
        if len(items) == 1:
            set_aside(items[0], exc)
            return
        if halving is not None:
            halving(len(items), exc)
    middle = len(items) // 2
    halve(items[:middle], apply, set_aside, passes=passes, halving=halving)
    halve(items[middle:], apply, set_aside, passes=passes, halving=halving)


def isolating(size: int, exc: Exception) -> None:
    """Log that a run of ``size`` events failed with ``exc`` and is being halved (the
    ``halving`` of :func:`halve` for the engine's runs)."""
    log.warning("applying %d events failed (%s): isolating", size, type(exc).__name__)


def bisect(append: Append, events: Sequence[Event], process: Processor | None) -> Split:
    """Commit ``events`` in as few transactions as the failures allow; the events that fail
    alone are returned with the reason, uncommitted."""
    split = Split()

    def apply(run: Sequence[Event]) -> None:
        split.stored.extend(append(run, (), process).stored)

    def set_aside(event: Event, exc: Exception) -> None:
        log.warning("one event could not be processed (%s): quarantined", type(exc).__name__)
        split.poisoned.append((event, reason(exc)))

    halve(events, apply, set_aside, passes=(StoreUnavailable,))
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
