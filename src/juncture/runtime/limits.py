"""Rate limits on the tracking API: so many requests per second per source (write key) and
per client address, with a burst allowance (a token bucket each). A request over its limit
is answered ``429`` with ``Retry-After``; Segment's libraries wait and send again.

Buckets live in the process (one ``serve``); a limit of 0 is off.

>>> from juncture.runtime.clock import ManualClock
>>> import datetime as dt
>>> clock = ManualClock(dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
>>> limits = RateLimits(per_source=2, per_address=0, burst=2, clock=clock)
>>> [limits.source_wait("web") for _ in range(3)]
[None, None, 0.5]
>>> _ = clock.advance(dt.timedelta(seconds=0.5))
>>> limits.source_wait("web") is None
True
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Final

from juncture.runtime.clock import Clock

_MAX_BUCKETS: Final = 100_000  # keys remembered at once; the oldest are forgotten beyond


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


@dataclass
class _Buckets:
    rate: float
    burst: float
    buckets: dict[str, _Bucket] = field(default_factory=dict)

    def wait(self, key: str, now: float) -> float | None:
        """Take one token for ``key``; None when there was one, else the seconds until one."""
        bucket = self.buckets.get(key)
        if bucket is None:
            if len(self.buckets) >= _MAX_BUCKETS:
                self.buckets.pop(next(iter(self.buckets)))
            bucket = self.buckets[key] = _Bucket(self.burst, now)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return None
        return (1 - bucket.tokens) / self.rate


class RateLimits:
    def __init__(self, *, per_source: float, per_address: float, burst: int, clock: Clock) -> None:
        self._clock = clock
        size = float(max(burst, 1))
        self._sources = _Buckets(per_source, size) if per_source > 0 else None
        self._addresses = _Buckets(per_address, size) if per_address > 0 else None

    def _now(self) -> float:
        return self._clock.now().timestamp()

    def source_wait(self, source: str) -> float | None:
        """Seconds the source must wait before its next request (None: go ahead)."""
        return None if self._sources is None else self._sources.wait(source, self._now())

    def address_wait(self, address: str | None) -> float | None:
        """Seconds a client address must wait (None: go ahead, or no address known)."""
        if self._addresses is None or address is None:
            return None
        return self._addresses.wait(address, self._now())
