"""Local time for simulated people: nobody shops at 4 a.m. (well, hardly anybody)."""

from __future__ import annotations

import datetime as dt
import random
from functools import cache
from zoneinfo import ZoneInfo

HOUR_MS = 3_600_000


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


def local_hour(ms: int, timezone: str) -> float:
    """The hour of the day (with fraction) at ``ms`` in ``timezone``."""
    moment = dt.datetime.fromtimestamp(ms / 1000, _zone(timezone))
    return moment.hour + moment.minute / 60


def waking(ms: int, timezone: str, rng: random.Random) -> int:
    """``ms`` if it falls between 7:00 and 23:00 locally, else a moment next morning."""
    hour = local_hour(ms, timezone)
    if 7 <= hour < 23:
        return ms
    return ms + int(((7 - hour) % 24 + rng.uniform(0, 5)) * HOUR_MS)
