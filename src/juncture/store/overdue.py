"""What a server would do at once when it starts on a database whose clock ran ahead of it,
or that stood still for long: timers and queued messages long past due (the demo's database,
served after its simulated weeks; a server down for days)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from juncture.core.events import as_utc
from juncture.store import failures, tables


@dataclass(frozen=True, slots=True)
class Overdue:
    """Timers and messages due before ``before``, and the oldest due time of each."""

    timers: int
    messages: int
    oldest_timer: dt.datetime | None = None
    oldest_message: dt.datetime | None = None

    @property
    def any(self) -> bool:
        return bool(self.timers or self.messages)

    @property
    def oldest(self) -> dt.datetime | None:
        found = [d for d in (self.oldest_timer, self.oldest_message) if d is not None]
        return min(found) if found else None


def overdue(engine: sa.Engine, before: dt.datetime) -> Overdue:
    """Count the timers and the pending or deferred messages due before ``before``."""
    t, o = tables.timers, tables.outbox
    waiting = o.c.status.in_(("pending", "deferred"))
    late_messages = sa.and_(waiting, o.c.next_attempt_at < before)
    with failures.connection(engine) as conn:
        timers, first_timer = conn.execute(
            sa.select(sa.func.count(), sa.func.min(t.c.due_at)).where(t.c.due_at < before)
        ).one()
        messages, first_message = conn.execute(
            sa.select(sa.func.count(), sa.func.min(o.c.next_attempt_at)).where(late_messages)
        ).one()
    return Overdue(
        int(timers),
        int(messages),
        as_utc(first_timer) if first_timer is not None else None,
        as_utc(first_message) if first_message is not None else None,
    )
