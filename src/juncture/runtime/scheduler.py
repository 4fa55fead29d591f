"""Fires due timers in live mode: a tick every ``interval`` through the engine's writer (the
committer, or the follower when the engine runs behind the log), so timer effects commit on
the same single writer as the events' effects, and a timer deleted in the commit that
fired it can never fire twice. Replay and simulation tick by event time instead."""

from __future__ import annotations

import logging
import threading
from typing import Protocol

from juncture.errors import JunctureError

log = logging.getLogger("juncture.scheduler")


class Ticks(Protocol):
    """What fires due timers on the engine's writer: the committer when the engine runs
    inline, the follower when it runs behind the log."""

    def tick_sync(self) -> object: ...


class Scheduler:
    def __init__(self, committer: Ticks, interval: float = 1.0) -> None:
        self._committer = committer
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="juncture-scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self._committer.tick_sync()
            except JunctureError as exc:
                log.warning("timer tick failed, will retry: %s", exc.code)
