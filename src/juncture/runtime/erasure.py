"""Erasing a person through a writer (:mod:`juncture.store.erasure` says what goes).

The deletes run as a job of the server's group committer, in the writer's transaction, so
an event of the person is either fully applied before them or comes after (and starts a new
profile: erasure does not stop a client that keeps sending the same ids). The writer's
cache of profiles and identities is dropped with them. ``juncture profiles erase`` runs the
same job on a writer of its own beside the server; on SQLite the server's writer sees the
other connection's commit and drops its cache on its own.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from juncture.core.events import Event
from juncture.runtime.clock import Clock
from juncture.runtime.unit_of_work import Processor
from juncture.store import erasure
from juncture.store.erasure import Erased
from juncture.store.state import StateSql

log = logging.getLogger("juncture.erasure")

Run = Callable[[Processor], object]  # runs a processor in a writer's transaction


class Eraser:
    def __init__(self, run: Run, clock: Clock) -> None:
        self._run = run
        self._clock = clock

    def erase(self, profile_id: str, reference: str | None = None) -> Erased | None:
        """Erase the person whose profile is (or was merged into) ``profile_id``, recorded
        under ``reference`` (the request's ticket, say; None: no reference); None if there is
        no such profile."""
        done: list[Erased | None] = []

        def process(state: StateSql, events: list[Event]) -> list[Event]:
            done.append(erasure.erase(state, profile_id, self._clock.now(), reference))
            if state.cache is not None:
                state.cache.clear()
            return events

        self._run(process)
        erased = done[0] if done else None
        if erased is not None:  # counts only: the ids are what was erased
            log.info(
                "erased a person: %d profiles, %d rows",
                len(erased.profiles),
                sum(erased.rows.values()),
            )
        return erased
