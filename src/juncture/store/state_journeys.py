"""The journeys' part of the engine's working set in the store: enrollments and the recent
marketing contacts that frequency caps count, loaded for the profiles of a commit and
saved with it (through the writer's cache where there is one)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Any, Final

import msgspec

from juncture.core.journeys.arbitration import Contact, ContactHistory
from juncture.core.journeys.orchestrate import JourneyState, Message
from juncture.core.journeys.state import Enrollment
from juncture.store import outbox
from juncture.store.state_base import CHUNK, StateBase
from juncture.store.state_cache import JourneyRows, stored_enrollment

_encoder: Final = msgspec.json.Encoder()
# Contacts that count against frequency caps: what left or is about to leave (a deferred
# message counts at the time it will leave, its next_attempt_at).
_CONTACT_STATUSES: Final = ("pending", "deferred", "sending", "sent", "shown")
ENROLLMENT_COLUMNS: Final = (
    "enrollment_id", "journey_id", "version", "profile_id", "key", "status", "node", "holdout",
    "goal_reached_at", "exit_reason", "entered_at", "updated_at", "state",
)  # fmt: skip


class JourneySql(StateBase):
    """Enrollments and contacts on the cursor of :class:`StateBase`."""

    def load_journeys(
        self, profile_ids: Sequence[str], since: dt.datetime
    ) -> dict[str, JourneyState]:
        """Enrollments (active and ended, for re-entry rules) and marketing contacts since
        ``since`` of these profiles."""
        pids = sorted(set(profile_ids))
        stamp = self.t(since)
        cache = self.cache.journeys if self.cache is not None else None
        cached: dict[str, JourneyRows] = {}
        if cache is not None:  # rows loaded for a later ``since`` lack some contacts
            cached = {p: cache[p] for p in pids if p in cache and cache[p].since <= stamp}
        found = self._journey_rows([p for p in pids if p not in cached], stamp)
        if cache is not None:
            cache.update(found)
        states: dict[str, JourneyState] = {}
        for pid, rows in (cached | found).items():
            contacts = tuple(c for at, c in rows.contacts if at >= stamp)
            if rows.enrollments or contacts:
                states[pid] = JourneyState(rows.decoded(), ContactHistory(contacts))
        return states

    def _journey_rows(self, pids: Sequence[str], stamp: Any) -> dict[str, JourneyRows]:
        found = {pid: JourneyRows(stamp, {}, []) for pid in pids}
        for pid, body in self._in(
            "SELECT profile_id, state FROM enrollments WHERE profile_id IN ({marks})", pids
        ):
            enrollment = stored_enrollment(body)
            found[pid].enrollments[enrollment.id] = enrollment
        m = self.mark
        statuses = ",".join(f"'{x}'" for x in _CONTACT_STATUSES)
        for start in range(0, len(pids), CHUNK):
            chunk = pids[start : start + CHUNK]
            self.cur.execute(
                "SELECT profile_id, COALESCE(sent_at, next_attempt_at, created_at), channel, "
                "purpose, journey_id, created_at FROM outbox "
                f"WHERE profile_id IN ({','.join([m] * len(chunk))}) "
                f"AND purpose = 'marketing' AND status IN ({statuses}) AND created_at >= {m}",
                (*chunk, stamp),
            )
            for pid, at, channel, purpose, journey, created in self.cur.fetchall():
                contact = Contact(self.read_t(at), channel, purpose, journey or "")
                found[pid].contacts.append((created, contact))
        return found

    def save_enrollments(self, changed: Iterable[Enrollment], now: dt.datetime) -> None:
        """Upsert enrollments (their state as JSON), and in the cache of a loaded profile."""
        rows = [
            (
                e.id,
                e.journey_id,
                e.version,
                e.profile_id,
                e.key,
                "exited" if e.exited else "active",
                e.node,
                e.holdout,
                self.t(now) if e.goal_reached else None,
                e.exit_reason,
                self.t(e.entered_at),
                self.t(now),
                _encoder.encode(e.to_json()).decode(),
            )
            for e in changed
        ]
        if not rows:
            return
        names = ", ".join(ENROLLMENT_COLUMNS)
        marks = ",".join([self.mark] * len(ENROLLMENT_COLUMNS))
        updates = ", ".join(
            f"{c} = excluded.{c}"
            for c in ENROLLMENT_COLUMNS[1:]
            if c not in {"goal_reached_at", "entered_at"}
        )
        self.cur.executemany(
            f"INSERT INTO enrollments ({names}) VALUES ({marks}) "
            f"ON CONFLICT (enrollment_id) DO UPDATE SET {updates}, goal_reached_at = "
            "COALESCE(enrollments.goal_reached_at, excluded.goal_reached_at)",
            rows,
        )
        cache = self.cache.journeys if self.cache is not None else {}
        for row in rows:
            cached = cache.get(row[3])  # its profile_id
            if cached is not None:
                cached.enrollments[row[0]] = row[-1]  # its id and state

    def save_messages(self, messages: Sequence[Message]) -> None:
        """Outbox rows; one already there (same idempotency key: a replay) is left alone."""
        if not messages:
            return
        rows = [outbox.row(x, self.t) for x in messages]
        self.cur.executemany(outbox.insert_sql(self.mark), rows)
        if self.cache is not None:
            self._cache_contacts(messages, rows, self.cache.journeys)

    def _cache_contacts(
        self,
        messages: Sequence[Message],
        rows: list[tuple[Any, ...]],
        cache: dict[str, JourneyRows],
    ) -> None:
        """The new marketing contacts of cached profiles, as a load would read them back."""
        if self.cur.rowcount != len(rows):  # a key already there: which row stayed is unknown
            for x in messages:
                cache.pop(x.profile_id, None)
            return
        for x, row in zip(messages, rows, strict=True):
            cached = cache.get(x.profile_id)
            if cached is not None and x.purpose == "marketing" and x.status in _CONTACT_STATUSES:
                created, leaves = row[outbox.CREATED_AT], row[outbox.NEXT_ATTEMPT_AT]
                at = self.read_t(leaves if leaves is not None else created)
                contact = Contact(at, x.channel, x.purpose, x.journey_id or "")
                cached.contacts.append((created, contact))
