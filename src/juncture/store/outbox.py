"""Every operation on the outbox, named in domain terms (SQLAlchemy Core, SQLite and PostgreSQL).

A message's life, in ``outbox.status``::

    pending ──claim──> sending ──ok──> sent
       ^  ^               │
       │  └──retry later──┤ (attempts < max: next_attempt_at = now + backoff)
       │                  └──────────> dead (last_error kept)
       └── retry_dead ─────────────────┘
    deferred (quiet hours) becomes due like pending at next_attempt_at
    suppressed: never sent, kept for measurement

``claim`` marks rows ``sending`` and counts the attempt *before* anything is sent, and
``next_attempt_at`` then holds the claim's lease. A row still ``sending`` when its lease has
passed is *in doubt*: its sender died, or hangs, between the claim and the record; ``claim``
takes it again and the dispatcher sends it again with the same idempotency key.

A row is made from the core's :class:`~juncture.core.journeys.outgoing.Message` by
:func:`row` and inserted by :func:`insert_sql`, here (``Outbox.insert``: on-site impressions,
tools) and in the engine's writer (``store/state_journeys``), so both write the same row.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Final

import msgspec
import orjson
import sqlalchemy as sa

from juncture.core import channels
from juncture.core.events import as_utc
from juncture.core.journeys.orchestrate import Message
from juncture.store import driver_sql, failures, state_generation, tables
from juncture.store.state_base import sqlite_time

STATUSES = ("pending", "sending", "sent", "dead", "suppressed", "deferred", "shown")
ONSITE: Final = channels.ON_SITE  # placements wait for the next visit (/v1/decide), not a send
t = tables.outbox
a = tables.delivery_attempts

# The dispatcher's statements run several times per round: built once, with their values
# bound at execution, so SQLAlchemy neither rebuilds them nor works out their cache keys
# again (building and keying ``due`` cost as much as running it).
_NOW = sa.bindparam("b_now", type_=t.c.next_attempt_at.type)
_DUE = (
    sa.select(t)
    .where(
        sa.or_(
            sa.and_(
                t.c.status == "pending",
                sa.or_(t.c.next_attempt_at.is_(None), t.c.next_attempt_at <= _NOW),
            ),
            sa.and_(t.c.status.in_(("deferred", "sending")), t.c.next_attempt_at <= _NOW),
        ),
        t.c.channel != ONSITE,
    )
    .order_by(t.c.id)
    .limit(sa.bindparam("b_limit", type_=sa.Integer()))
)
_DUE_LOCKED = _DUE.with_for_update(skip_locked=True)
# Claim and record bump the state generation themselves, for marketing messages only: the
# engine's cache holds no other (``state_generation.BUMPS_ITSELF``).
_MARK_SENDING = state_generation.bumped_by_caller(
    t.update()
    .where(
        t.c.id == sa.bindparam("b_id"),
        t.c.status == sa.bindparam("b_status"),
        t.c.attempts == sa.bindparam("b_attempts"),
    )
    .values(
        status="sending",
        attempts=sa.bindparam("b_next", type_=sa.Integer()),
        next_attempt_at=sa.bindparam("b_until", type_=t.c.next_attempt_at.type),
    )
)
_ATTEMPTS = sa.select(t.c.attempts, t.c.purpose).where(t.c.id == sa.bindparam("b_id"))
# SET: the execution's other values.
_MOVE = state_generation.bumped_by_caller(t.update().where(t.c.id == sa.bindparam("b_id")))
_CONTACT: Final = "marketing"  # the purpose of the messages the engine's cache holds
_RECORD = a.insert()
_p = tables.profiles
_CONSENT = sa.select(_p.c.redirect_to, _p.c.consent).where(
    _p.c.profile_id == sa.bindparam("b_profile")
)


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    idempotency_key: str
    profile_id: str
    journey_id: str | None
    journey_version: int | None
    enrollment_id: str | None
    node_id: str | None
    channel: str
    purpose: str
    template: str | None
    payload: dict[str, Any]
    status: str
    reason: str | None
    attempts: int
    next_attempt_at: dt.datetime | None
    created_at: dt.datetime
    sent_at: dt.datetime | None
    last_error: str | None
    in_doubt: bool = False


@dataclass(frozen=True, slots=True)
class Attempt:
    """The result of one send, as recorded in ``delivery_attempts``."""

    ok: bool
    status_code: int | None = None
    error: str | None = None
    duration_ms: float | None = None


@dataclass(frozen=True, slots=True)
class AttemptRow:
    outbox_id: int
    attempt: int
    at: dt.datetime
    ok: bool
    status_code: int | None
    error: str | None
    duration_ms: float | None


class Outbox:
    """The outbox of one store (``Outbox(store.engine)``). Every method is one transaction."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name

    def _begin(self) -> AbstractContextManager[sa.Connection]:
        return failures.writing(self.engine)

    # --- writing messages -------------------------------------------------------------

    def insert(self, rows: Sequence[Message], conn: sa.Connection | None = None) -> int:
        """Insert messages; a key already present is skipped. Returns how many were new.

        Pass ``conn`` to insert inside the caller's transaction."""
        if not rows:
            return 0
        if conn is not None:
            return self._insert(conn, rows)
        with self._begin() as own:
            return self._insert(own, rows)

    def _insert(self, conn: sa.Connection, rows: Sequence[Message]) -> int:
        return sum(found is not None for found in self.insert_each(_unique(rows), conn))

    def insert_each(self, rows: Sequence[Message], conn: sa.Connection) -> list[int | None]:
        """Insert each message in the caller's transaction, in order: its new row's id, or
        None where its key is present (inserted before, or earlier in ``rows``)."""
        sqlite = self.dialect == "sqlite"
        statement = insert_sql(driver_sql.mark(self.dialect)) + " RETURNING id"
        stamp = sqlite_time if sqlite else as_utc
        ids: list[int | None] = []
        for message in rows:  # one statement per row: RETURNING tells new from duplicate
            found = conn.exec_driver_sql(statement, row(message, stamp)).fetchall()
            ids.append(int(found[0][0]) if found else None)
        return ids

    # --- the dispatcher's operations ---------------------------------------------------

    def due(
        self, now: dt.datetime, limit: int, conn: sa.Connection | None = None
    ) -> list[OutboxRow]:
        """Rows to send now: pending or deferred whose time has come, and in-doubt rows
        (``sending`` past their lease), in insertion order; never on-site placements. Locks
        them ``FOR UPDATE SKIP LOCKED`` on PostgreSQL when given the caller's ``conn``;
        :meth:`claim` is the safe way to use it."""
        query = _DUE_LOCKED if self.dialect == "postgresql" else _DUE
        params = {"b_now": as_utc(now), "b_limit": limit}
        if conn is not None:
            return [row_of(r._mapping) for r in conn.execute(query, params)]
        with self._begin() as own:
            return [row_of(r._mapping) for r in own.execute(query, params)]

    def mark_sending(
        self,
        rows: Sequence[OutboxRow],
        now: dt.datetime,
        lease: dt.timedelta,
        conn: sa.Connection | None = None,
    ) -> list[OutboxRow]:
        """Mark rows ``sending`` with a lease until ``now + lease`` and count the attempt.

        Compare-and-set on (status, attempts): a row another dispatcher took meanwhile is left
        out of the answer. Returns the rows as claimed (``attempts`` already incremented)."""
        if conn is None:
            with self._begin() as own:
                return self.mark_sending(rows, now, lease, own)
        until = as_utc(now) + lease
        claimed = []
        for row in rows:
            params = {
                "b_id": row.id,
                "b_status": row.status,
                "b_attempts": row.attempts,
                "b_next": row.attempts + 1,
                "b_until": until,
            }
            if conn.execute(_MARK_SENDING, params).rowcount == 1:
                claimed.append(_claimed(row, until))
        if any(row.purpose == _CONTACT for row in claimed):
            state_generation.bump_on(conn)
        return claimed

    def claim(self, now: dt.datetime, limit: int, lease: dt.timedelta) -> list[OutboxRow]:
        """:meth:`due` and :meth:`mark_sending` in one transaction: the rows this caller owns."""
        with self._begin() as conn:
            return self.mark_sending(self.due(now, limit, conn), now, lease, conn)

    def record_attempt(
        self,
        outbox_id: int,
        attempt: Attempt,
        now: dt.datetime,
        next_attempt_at: dt.datetime | None,
        *,
        dead: bool,
    ) -> None:
        """Record one attempt and move the row on: ``sent``, back to ``pending`` at
        ``next_attempt_at``, or ``dead`` with the error. One transaction. A row that is gone
        (its person erased meanwhile) records nothing: the error may name them."""
        now = as_utc(now)
        if attempt.ok:
            values: dict[str, Any] = {"status": "sent", "sent_at": now, "next_attempt_at": None}
        elif dead or next_attempt_at is None:
            values = {"status": "dead", "next_attempt_at": None, "last_error": attempt.error}
        else:
            when = as_utc(next_attempt_at)
            values = {"status": "pending", "next_attempt_at": when, "last_error": attempt.error}
        with self._begin() as conn:
            found = conn.execute(_ATTEMPTS, {"b_id": outbox_id}).first()
            if found is None or conn.execute(_MOVE, {"b_id": outbox_id, **values}).rowcount == 0:
                return  # the person was erased while their message was out: keep nothing
            number, purpose = found
            if purpose == _CONTACT:
                state_generation.bump_on(conn)
            conn.execute(
                _RECORD,
                {
                    "outbox_id": outbox_id,
                    "attempt": number,
                    "at": now,
                    "ok": attempt.ok,
                    "status_code": attempt.status_code,
                    "error": attempt.error,
                    "duration_ms": attempt.duration_ms,
                },
            )

    def consent_refused(self, profile_id: str, channel: str) -> bool:
        """Whether the profile (or the one it was merged into) now refuses marketing on
        ``channel``: its resolved consent says so explicitly."""
        with self.engine.connect() as conn:
            row = conn.execute(_CONSENT, {"b_profile": profile_id}).first()
            if row is not None and row.redirect_to is not None:
                row = conn.execute(_CONSENT, {"b_profile": row.redirect_to}).first()
        consent = row.consent if row is not None else None
        if isinstance(consent, str):
            consent = orjson.loads(consent)
        return isinstance(consent, dict) and consent.get(f"{channel}:marketing") is False

    def suppress(self, outbox_id: int, reason: str) -> None:
        """A claimed row that must not leave after all: ``suppressed`` with the reason."""
        with self._begin() as conn:
            conn.execute(
                t.update()
                .where(t.c.id == outbox_id)
                .values(status="suppressed", reason=reason, next_attempt_at=None)
            )

    def release_in_doubt(self, now: dt.datetime) -> int:
        """Make every ``sending`` row due now (start-up of the only dispatcher: whatever is
        ``sending`` was left by a dead process). Returns how many."""
        with self._begin() as conn:
            stmt = t.update().where(t.c.status == "sending").values(next_attempt_at=as_utc(now))
            return int(conn.execute(stmt).rowcount)

    # --- reading and repairing ----------------------------------------------------------

    def deliveries(
        self,
        *,
        profile_id: str | None = None,
        journey_id: str | None = None,
        status: str | None = None,
        limit: int = 100,
        after_id: int = 0,
    ) -> list[OutboxRow]:
        """Messages in insertion order (``id``), filtered; page with ``after_id``."""
        query = sa.select(t).where(t.c.id > after_id).order_by(t.c.id).limit(limit)
        if profile_id is not None:
            query = query.where(t.c.profile_id == profile_id)
        if journey_id is not None:
            query = query.where(t.c.journey_id == journey_id)
        if status is not None:
            query = query.where(t.c.status == status)
        with self._begin() as conn:
            return [row_of(r._mapping) for r in conn.execute(query)]

    def get(self, outbox_id: int) -> OutboxRow | None:
        with self._begin() as conn:
            found = conn.execute(sa.select(t).where(t.c.id == outbox_id)).first()
        return None if found is None else row_of(found._mapping)

    def attempts(self, outbox_id: int) -> list[AttemptRow]:
        """The recorded attempts of one message, in order."""
        query = sa.select(a).where(a.c.outbox_id == outbox_id).order_by(a.c.id)
        with self._begin() as conn:
            return [_attempt(r._mapping) for r in conn.execute(query)]

    def counts_by_status(self, journey_id: str | None = None) -> dict[str, int]:
        query = sa.select(t.c.status, sa.func.count()).group_by(t.c.status)
        if journey_id is not None:
            query = query.where(t.c.journey_id == journey_id)
        with self._begin() as conn:
            return {str(s): int(n) for s, n in conn.execute(query)}

    def dead_letters(self, limit: int = 100, after_id: int = 0) -> list[OutboxRow]:
        return self.deliveries(status="dead", limit=limit, after_id=after_id)

    def retry_dead(self, ids: Sequence[int] | None = None) -> int:
        """Dead letters (all, or those ``ids``) back to ``pending``, due at once, with a fresh
        count of attempts; ``last_error`` stays until the next attempt. Returns how many."""
        stmt = (
            t.update()
            .where(t.c.status == "dead")
            .values(status="pending", attempts=0, next_attempt_at=None)
        )
        if ids is not None:
            stmt = stmt.where(t.c.id.in_(list(ids)))
        with self._begin() as conn:
            return int(conn.execute(stmt).rowcount)


def _unique(rows: Sequence[Message]) -> list[Message]:
    seen: dict[str, Message] = {}
    for message in rows:
        seen.setdefault(message.idempotency_key, message)
    return list(seen.values())


# --- the one way a message becomes a row -----------------------------------------------

COLUMNS: Final = (
    "idempotency_key", "profile_id", "journey_id", "journey_version", "enrollment_id", "node_id",
    "channel", "purpose", "template", "payload", "status", "reason", "attempts",
    "next_attempt_at", "created_at", "sent_at",
)  # fmt: skip
NEXT_ATTEMPT_AT: Final = COLUMNS.index("next_attempt_at")
CREATED_AT: Final = COLUMNS.index("created_at")
_encoder: Final = msgspec.json.Encoder()


@functools.cache
def insert_sql(mark: str) -> str:
    """The statement that inserts one :func:`row` (``mark``: the driver's placeholder); a
    row whose idempotency key is there already (a replay) is left alone."""
    return (
        f"INSERT INTO outbox ({', '.join(COLUMNS)}) VALUES ({','.join([mark] * len(COLUMNS))}) "
        "ON CONFLICT (idempotency_key) DO NOTHING"
    )


def row(message: Message, stamp: Callable[[dt.datetime], Any]) -> tuple[Any, ...]:
    """The values of :data:`COLUMNS` for ``message``, in order, its times through ``stamp``
    (as the dialect stores them). A ``shown`` row (an on-site impression) was sent when it
    was made; every row starts with no attempt."""
    if message.status not in STATUSES:
        raise ValueError(f"unknown outbox status {message.status!r}")
    payload = message.payload
    created = stamp(message.created_at)
    return (
        message.idempotency_key,
        message.profile_id,
        message.journey_id,
        message.journey_version,
        message.enrollment_id,
        message.node_id,
        message.channel,
        message.purpose,
        message.template,
        _encoder.encode(payload if isinstance(payload, dict) else dict(payload)).decode(),
        message.status,
        message.reason,
        0,
        None if message.next_attempt_at is None else stamp(message.next_attempt_at),
        created,
        created if message.status == "shown" else None,
    )


def _time(value: dt.datetime | None) -> dt.datetime | None:
    return None if value is None else as_utc(value)


def row_of(m: Any) -> OutboxRow:
    return OutboxRow(
        id=int(m["id"]),
        idempotency_key=m["idempotency_key"],
        profile_id=m["profile_id"],
        journey_id=m["journey_id"],
        journey_version=m["journey_version"],
        enrollment_id=m["enrollment_id"],
        node_id=m["node_id"],
        channel=m["channel"],
        purpose=m["purpose"],
        template=m["template"],
        payload=orjson.loads(m["payload"]),
        status=m["status"],
        reason=m["reason"],
        attempts=int(m["attempts"]),
        next_attempt_at=_time(m["next_attempt_at"]),
        created_at=as_utc(m["created_at"]),
        sent_at=_time(m["sent_at"]),
        last_error=m["last_error"],
    )


def shown_row(row_id: int, message: Message) -> OutboxRow:
    """The row :func:`row` stored for ``message`` under ``row_id``, as :func:`row_of` would
    read it back (its payload through JSON, as stored), without reading it."""
    stored = dict(zip(COLUMNS, row(message, as_utc), strict=True))
    return row_of({**stored, "id": row_id, "last_error": None})


def _claimed(row: OutboxRow, until: dt.datetime) -> OutboxRow:
    return dataclasses.replace(
        row,
        status="sending",
        attempts=row.attempts + 1,
        next_attempt_at=until,
        in_doubt=row.status == "sending",
    )


def _attempt(m: Any) -> AttemptRow:
    return AttemptRow(
        outbox_id=int(m["outbox_id"]),
        attempt=int(m["attempt"]),
        at=as_utc(m["at"]),
        ok=bool(m["ok"]),
        status_code=m["status_code"],
        error=m["error"],
        duration_ms=m["duration_ms"],
    )
