"""The one loop behind the background jobs of ``juncture serve`` (timers, campaigns,
summaries, retention, data-quality tallies, training): a task called every few seconds on a
daemon thread of its own until stopped."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from juncture.errors import JunctureError


class Periodic:
    """Calls ``task`` every ``interval`` seconds on a daemon thread named ``name``.

    The first call comes after ``first()`` seconds (computed on the thread; default:
    ``interval``). :meth:`stop` waits ``join`` seconds at most for a call under way
    (``None``: as long as it takes)."""

    def __init__(
        self,
        name: str,
        task: Callable[[], object],
        interval: float,
        *,
        first: Callable[[], float] | None = None,
        join: float | None = 30.0,
    ) -> None:
        self.interval = interval
        self._task, self._first, self._join = task, first, join
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(self._join)

    def _run(self) -> None:
        wait = self.interval if self._first is None else self._first()
        while not self._stop.wait(wait):
            self._task()
            wait = self.interval


def retried(task: Callable[[], object], log: logging.Logger, what: str) -> Callable[[], None]:
    """``task``, with a :class:`JunctureError` logged as ``what`` failed (the next call of
    the loop tries again)."""

    def call() -> None:
        try:
            task()
        except JunctureError as exc:
            log.warning("%s failed, will retry: %s", what, exc.code)

    return call
