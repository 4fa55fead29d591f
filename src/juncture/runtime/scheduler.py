"""Fires due timers in live mode: a tick every ``interval`` through the engine's writer (the
committer, or the follower when the engine runs behind the log), so timer effects commit on
the same single writer as the events' effects, and a timer deleted in the commit that
fired it can never fire twice. Replay and simulation tick by event time instead."""

from __future__ import annotations

import logging
from typing import Protocol

from juncture.runtime.periodic import Periodic, retried

log = logging.getLogger("juncture.scheduler")


class Ticks(Protocol):
    """What fires due timers on the engine's writer: the committer when the engine runs
    inline, the follower when it runs behind the log."""

    def tick_sync(self) -> object: ...


class Scheduler(Periodic):
    def __init__(self, committer: Ticks, interval: float = 1.0) -> None:
        task = retried(committer.tick_sync, log, "timer tick")
        super().__init__("juncture-scheduler", task, interval, join=None)
