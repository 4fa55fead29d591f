"""When a send that failed is tried again: exponential backoff with a cap and a
deterministic jitter (:class:`RetryPolicy`), the dispatcher's answer to a retryable failure."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from juncture.channels.base import DeliveryResult


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with a cap and a deterministic jitter.

    The delay after failed attempt ``n`` (1-based) is ``base * factor**(n-1)``, capped, then
    spread by up to ``jitter`` either way by a hash of the idempotency key and ``n`` (so two
    runs give the same schedule, and messages that failed together do not retry together),
    and never more than ``cap``.

    >>> p = RetryPolicy(jitter=0)
    >>> [int(p.delay(n, "k").total_seconds()) for n in range(1, 9)]
    [30, 60, 120, 240, 480, 960, 1920, 3600]
    """

    max_attempts: int = 6
    base: dt.timedelta = dt.timedelta(seconds=30)
    factor: float = 2.0
    cap: dt.timedelta = dt.timedelta(hours=1)
    jitter: float = 0.1

    def delay(self, attempt: int, key: str) -> dt.timedelta:
        cap = self.cap.total_seconds()
        raw = min(self.base.total_seconds() * self.factor ** (attempt - 1), cap)
        spread = 1 + self.jitter * (2 * _unit(f"{key}:{attempt}") - 1)
        return dt.timedelta(seconds=min(raw * spread, cap))

    def next_attempt(
        self, attempt: int, result: DeliveryResult, key: str, now: dt.datetime
    ) -> dt.datetime | None:
        """When to try again after failed attempt ``attempt``; ``None``: dead-letter it."""
        if not result.retryable or attempt >= self.max_attempts:
            return None
        return now + self.delay(attempt, key)


def _unit(text: str) -> float:
    """A number in [0, 1) fixed by ``text``."""
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big") / 2**64
