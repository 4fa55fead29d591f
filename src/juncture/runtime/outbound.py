"""The dispatcher in live mode: :meth:`Dispatcher.run_forever` on its own event loop in a
background thread, so that sends never wait on the API's loop and the API never waits on a
slow provider. Stopping lets the round in flight finish (its results are recorded), then
closes the channels' HTTP clients."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable

from juncture.runtime.dispatcher import Dispatcher, DispatchReport

log = logging.getLogger("juncture.dispatcher")


class DispatcherThread:
    """Builds the dispatcher inside its thread (``make``), so every asyncio object it holds
    belongs to that thread's loop."""

    def __init__(self, make: Callable[[], Dispatcher], idle_sleep: float = 1.0) -> None:
        self._make = make
        self._idle_sleep = idle_sleep
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="juncture-dispatcher", daemon=True)
        self.report = DispatchReport()

    def start(self) -> None:
        self._thread.start()
        self._ready.wait(10)

    def stop(self, timeout: float = 30.0) -> None:
        if self._loop is not None and self._stop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception:
            log.exception("the dispatcher stopped on an unexpected error")
            raise

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        dispatcher = self._make()
        self._ready.set()
        try:
            self.report = await dispatcher.run_forever(self._stop, self._idle_sleep)
        finally:
            await dispatcher.aclose()
