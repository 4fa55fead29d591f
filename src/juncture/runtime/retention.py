"""Retention: each data class kept for its window and no longer, by a job that ``juncture
serve`` runs every ``JUNCTURE_RETENTION_INTERVAL`` and ``juncture retention run`` runs once.

Raw events are deleted only once the engine has applied them (with the engine behind the
log: up to its position), so a window never loses an event before it reached a profile.
What replay can rebuild afterwards is said in docs/operations.md (Retention).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, fields

from juncture.errors import JunctureError
from juncture.runtime.clock import Clock
from juncture.runtime.periodic import Periodic
from juncture.store.retention import Retention

log = logging.getLogger("juncture.retention")

Through = Callable[[], int | None]  # the last raw event that may go (None: any)


@dataclass(frozen=True, slots=True)
class Windows:
    """How long each data class is kept (None: for ever)."""

    raw_events: dt.timedelta | None = None
    derived_events: dt.timedelta | None = None
    deliveries: dt.timedelta | None = None
    quarantine: dt.timedelta | None = None

    def any(self) -> bool:
        return any(getattr(self, f.name) is not None for f in fields(self))


def run(
    retention: Retention,
    windows: Windows,
    now: dt.datetime,
    through: int | None = None,
    *,
    dry_run: bool = False,
) -> dict[str, int]:
    """Rows deleted (or, ``dry_run``, that would be) per data class with a window."""
    done: dict[str, int] = {}
    for field in fields(windows):
        window = getattr(windows, field.name)
        if window is None:
            continue
        bound = through if field.name == "raw_events" else None
        done[field.name] = retention.expire(
            field.name, now - window, through=bound, dry_run=dry_run
        )
    return done


class RetentionJob(Periodic):
    """Runs :func:`run` every ``interval`` seconds on a thread of its own."""

    def __init__(
        self,
        retention: Retention,
        windows: Windows,
        clock: Clock,
        through: Through,
        interval: float,
    ) -> None:
        super().__init__("juncture-retention", self.once, interval)
        self.retention, self.windows, self.clock, self.through = retention, windows, clock, through

    def once(self) -> dict[str, int]:
        try:
            done = run(self.retention, self.windows, self.clock.now(), self.through())
        except JunctureError as exc:
            log.warning("retention run failed, will retry: %s", exc.code)
            return {}
        if any(done.values()):
            log.info("retention: deleted %s", ", ".join(f"{n} {k}" for k, n in done.items()))
        return done
