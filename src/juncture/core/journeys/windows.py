"""A journey's send window: the weekdays and hours, in the customer's own time, when its
marketing may leave. A message decided outside it waits for the window's next opening (as
quiet hours make it wait), it is not dropped.

>>> import datetime as dt
>>> window = SendWindow(days=frozenset({0, 1, 2, 3, 4}), start=dt.time(9), end=dt.time(18))
>>> saturday = dt.datetime(2026, 6, 6, 10, 30, tzinfo=dt.UTC)
>>> window.opens_after(saturday)
datetime.datetime(2026, 6, 8, 9, 0, tzinfo=datetime.timezone.utc)
>>> window.opens_after(saturday + dt.timedelta(days=2)) is None  # Monday 10:30: open
True
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Final

DAYS: Final = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")  # datetime.weekday() order
ALL_DAYS: Final = frozenset(range(7))


@dataclass(frozen=True, slots=True)
class SendWindow:
    """``days`` by :meth:`datetime.date.weekday` (0 is Monday); hours from ``start`` to
    ``end``, local wall-clock times (``start`` after ``end`` runs past midnight, the night
    counting for the day it began)."""

    days: frozenset[int] = ALL_DAYS
    start: dt.time = dt.time(0)
    end: dt.time = dt.time(0)  # equal to start: all day

    def is_open(self, local: dt.datetime) -> bool:
        now = local.time().replace(tzinfo=None)
        if self.start == self.end:
            return local.weekday() in self.days
        if self.start < self.end:
            return local.weekday() in self.days and self.start <= now < self.end
        if now >= self.start:  # the evening part of a window that runs past midnight
            return local.weekday() in self.days
        yesterday = (local.weekday() - 1) % 7
        return now < self.end and yesterday in self.days

    def opens_after(self, local: dt.datetime) -> dt.datetime | None:
        """When the window next opens after ``local`` (aware, the customer's zone), or None
        when it is open at ``local``."""
        if self.is_open(local):
            return None
        for ahead in range(8):
            day = local.date() + dt.timedelta(days=ahead)
            opening = dt.datetime.combine(day, self.start, tzinfo=local.tzinfo)
            if day.weekday() in self.days and opening > local:
                return opening
        return None  # no day at all: the grammar refuses such a window
