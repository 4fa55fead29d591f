"""What the decision API (``POST /v1/decide``) reads and writes: identities to profiles,
on-site messages queued in the outbox, and impressions (rows ``shown``, counted for caps).

An on-site message is an ``outbox`` row on channel ``onsite`` that stays ``pending`` (the
dispatcher leaves it alone) until the customer's next visit asks for it; showing it moves it
to ``shown`` with ``sent_at`` and one recorded attempt, in a compare-and-set so that two
concurrent requests never show one message twice. Placements chosen by rule, not queued by a
journey, are recorded as new ``shown`` rows whose idempotency key says what was shown (so a
welcome is shown once per profile, a cart reminder once per cart).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Final

import sqlalchemy as sa

from juncture.core.events import as_utc
from juncture.core.journeys.orchestrate import Message
from juncture.core.profile.model import Profile
from juncture.store import failures, keyed_reads, product_views, tables
from juncture.store.outbox import ONSITE, Outbox, OutboxRow, row_of, shown_row

_MAX_HOPS: Final = 8
t = tables.outbox
a = tables.delivery_attempts
p = tables.profiles
i = tables.identities
v = tables.product_views
# Built once: the statements of every decision, so that none is put together per request.
_KNOWN_ONE: Final = (
    sa.select(i.c.identifier, i.c.profile_id, p.c.redirect_to, p.c.body)
    .select_from(i.outerjoin(p, p.c.profile_id == i.c.profile_id))
    .where(i.c.identifier == sa.bindparam("id"))
)
_BODY: Final = sa.select(p.c.body).where(p.c.profile_id == sa.bindparam("pid"))
_FOLLOW: Final = sa.select(p.c.redirect_to, p.c.body).where(p.c.profile_id == sa.bindparam("pid"))
_REDIRECT: Final = sa.select(p.c.redirect_to).where(p.c.profile_id == sa.bindparam("pid"))
_VIEWS: Final = (
    sa.select(v.c.profile_id, v.c.product_id, v.c.view)
    .where(v.c.profile_id == sa.bindparam("pid"))
    .order_by(v.c.position)
)
_SHOWN: Final = sa.select(sa.func.count()).where(
    t.c.profile_id == sa.bindparam("pid"),
    t.c.channel == ONSITE,
    t.c.status == "shown",
    t.c.purpose == "marketing",
    t.c.sent_at >= sa.bindparam("since", type_=t.c.sent_at.type),
)

_QUEUED: Final = (
    sa.select(t)
    .where(
        t.c.profile_id == sa.bindparam("pid"),
        t.c.channel == ONSITE,
        sa.or_(
            t.c.status == "pending",
            sa.and_(
                t.c.status == "deferred",
                t.c.next_attempt_at <= sa.bindparam("now", type_=t.c.next_attempt_at.type),
            ),
        ),
    )
    .order_by(t.c.id)
)


class Placements:
    """On-site placements over one store's engine. Every method is one transaction."""

    def __init__(self, engine: sa.Engine) -> None:
        self.outbox = Outbox(engine)
        self.engine = engine

    def resolve(self, identifiers: Sequence[str]) -> str | None:
        """The live profile of the first identifier known (``user_id:42``), redirects
        followed; None when none is known."""
        with failures.writing(self.engine) as conn:
            for identifier in identifiers:
                query = sa.select(tables.identities.c.profile_id).where(
                    tables.identities.c.identifier == identifier
                )
                found = conn.execute(query).scalar_one_or_none()
                if found is not None:
                    return _live(conn, str(found))
        return None

    def profile(self, profile_id: str) -> Profile | None:
        with failures.writing(self.engine) as conn:
            body = conn.execute(_BODY, {"pid": profile_id}).scalar()
            return None if body is None else _with_views(conn, profile_id, body)

    def visitor(self, identifiers: Sequence[str]) -> tuple[str | None, Profile | None]:
        """:meth:`resolve` and :meth:`profile` on one driver connection and two queries (the
        identity with its profile's body, then the views; more only after a merge)."""
        with keyed_reads.reader(self.engine, "read the visitor") as read:
            found = (read.rows(_KNOWN_ONE, {"id": x}) for x in identifiers)
            first = next((rows[0] for rows in found if rows), None)  # the first known wins
            if first is None:
                return None, None
            _, pid, redirect, body = first
            hops = 0
            while redirect is not None and hops < _MAX_HOPS:  # merged: read the survivor's
                pid, hops = redirect, hops + 1
                redirect, body = next(iter(read.rows(_FOLLOW, {"pid": pid})), (None, None))
            pid = str(pid)
            if body is None:
                return pid, None
            views = [(str(r[1]), str(r[2])) for r in read.rows(_VIEWS, {"pid": pid})]
            return pid, product_views.profile(body, views)

    def shown_since(self, profile_id: str, since: dt.datetime) -> int:
        """Marketing impressions of this profile since ``since`` (the frequency cap's count).
        Answers the page asked for (recommendation slots, a product's location, stock, a
        loyalty balance: purpose transactional) are recorded too but never count: a product
        page with three slots must not use up the day's popovers."""
        with keyed_reads.reader(self.engine, "count impressions") as read:
            found = read.rows(_SHOWN, {"pid": profile_id, "since": as_utc(since)})
            return int(found[0][0])

    def queued(self, profile_id: str, now: dt.datetime) -> list[OutboxRow]:
        """On-site messages waiting for this profile, oldest first (deferred ones once due)."""
        with failures.writing(self.engine) as conn:
            found = conn.execute(_QUEUED, {"pid": profile_id, "now": as_utc(now)})
            return [row_of(r._mapping) for r in found]

    def mark_shown(self, row: OutboxRow, now: dt.datetime) -> bool:
        """Record the impression of a queued row; False when another request took it."""
        return self._finish(row, now, ok=True, error=None)

    def mark_failed(self, row: OutboxRow, now: dt.datetime, error: str) -> bool:
        """A queued row that cannot be shown (its template fails) goes ``dead``."""
        return self._finish(row, now, ok=False, error=error)

    def _finish(self, row: OutboxRow, now: dt.datetime, *, ok: bool, error: str | None) -> bool:
        now = as_utc(now)
        values = (
            {"status": "shown", "sent_at": now, "next_attempt_at": None}
            if ok
            else {"status": "dead", "last_error": error, "next_attempt_at": None}
        )
        with failures.writing(self.engine) as conn:
            stmt = (
                t.update()
                .where(t.c.id == row.id, t.c.status == row.status, t.c.attempts == row.attempts)
                .values(attempts=row.attempts + 1, **values)
            )
            if conn.execute(stmt).rowcount != 1:
                return False
            conn.execute(
                a.insert().values(
                    outbox_id=row.id, attempt=row.attempts + 1, at=now, ok=ok, error=error
                )
            )
        return True

    def record_shown(self, message: Message) -> OutboxRow | None:
        """Record a placement chosen by rule as a ``shown`` row; None when its key was
        recorded before (already shown)."""
        return self.record_shown_many([message])[0]

    def record_shown_many(self, messages: Sequence[Message]) -> list[OutboxRow | None]:
        """:meth:`record_shown` for each message, in order, in one transaction (one commit
        for many impressions: a group commit); a key recorded before, or earlier in the
        same call, answers None."""
        for message in messages:
            if message.status != "shown" or message.channel != ONSITE:
                raise ValueError("record_shown takes an on-site message with status 'shown'")
        with failures.writing(self.engine) as conn:
            ids = self.outbox.insert_each(messages, conn)
        return [None if i is None else shown_row(i, m) for i, m in zip(ids, messages, strict=True)]


def _with_views(conn: sa.Connection, profile_id: str, body: str) -> Profile:
    views = [(str(r[1]), str(r[2])) for r in conn.execute(_VIEWS, {"pid": profile_id})]
    return product_views.profile(body, views)


def _live(conn: sa.Connection, profile_id: str) -> str:
    """Follow ``redirect_to`` from a merged profile to the one that survived."""
    current = profile_id
    for _ in range(_MAX_HOPS):
        target = conn.execute(_REDIRECT, {"pid": current}).scalar_one_or_none()
        if target is None:
            return current
        current = str(target)
    return current
