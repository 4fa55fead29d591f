"""Real-time segment membership at run time: which segments are active (read from the
store, parsed again only when a definition changes) and, per commit, the membership and
recent events of the profiles the commit touches (``core.membership`` decides)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from typing import Final, Protocol

from juncture.core import pipeline as core
from juncture.core.segments import conditions as seg
from juncture.core.segments import membership
from juncture.core.signals import ScheduleTimer
from juncture.definitions import segments as segment_definitions
from juncture.errors import InvalidDefinition
from juncture.store import membership as stored
from juncture.store.state import StateSql
from juncture.store.state_cache import SegmentRows

log = logging.getLogger("juncture.segments")
_EVER: Final = dt.datetime.min.replace(tzinfo=dt.UTC)  # held since: every event of it


class SegmentSource(Protocol):
    """Where the engine gets its active segments, once per commit (must be cheap), and when
    the newest of them took effect (None: unknown; then every event evaluates every
    segment, as it cannot know which memberships are current)."""

    active_since: dt.datetime | None

    def segments(self, state: StateSql) -> tuple[seg.Segment, ...]: ...


class StaticSegments:
    """A fixed set of segments (tests, replay), evaluated in full after every event."""

    active_since: dt.datetime | None = None

    def __init__(self, segments: Iterable[seg.Segment]) -> None:
        self._segments = tuple(segments)

    def segments(self, state: StateSql) -> tuple[seg.Segment, ...]:  # noqa: ARG002
        return self._segments


class StoredSegments:
    """The declared segments of the store; a definition is parsed again only when its
    ``updated_at`` changes."""

    def __init__(self) -> None:
        self._seen: list[tuple[str, str]] = []
        self._segments: tuple[seg.Segment, ...] = ()
        self.active_since: dt.datetime | None = None

    def segments(self, state: StateSql) -> tuple[seg.Segment, ...]:
        current = stored.versions(state)
        if current != self._seen:
            parsed, moments = [], []
            for sid, source, filename, updated_at in stored.definitions(state):
                try:
                    parsed.append(segment_definitions.loads(source, filename))
                except InvalidDefinition:
                    log.exception("stored segment %s no longer validates; skipped", sid)
                moments.append(_moment(updated_at))
            self._segments, self._seen = tuple(parsed), current
            known = [m for m in moments if m is not None]
            self.active_since = max(known) if known and len(known) == len(moments) else None
        return self._segments


def _moment(text: str) -> dt.datetime | None:
    try:
        at = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    return at if at.tzinfo is not None else at.replace(tzinfo=dt.UTC)


def _rows(state: StateSql, segments: tuple[seg.Segment, ...]) -> SegmentRows:
    """The segments' working set the writer kept from its last commits, when it keeps one
    (SQLite) and the segments are the same; else a new one."""
    cache = state.cache
    if cache is None:
        return SegmentRows(segments)
    if cache.segments is None or cache.segments.segments is not segments:
        cache.segments = SegmentRows(segments)
    return cache.segments


class Tracker:
    """The membership working set of one commit: the stored memberships of its profiles,
    and their recent events (kept between commits by the writer's cache, with the leaves
    matched in them: a profile's events are read from the store when it is first seen, or
    when a commit evaluates further back than they were read)."""

    def __init__(
        self,
        segments: tuple[seg.Segment, ...],
        state: StateSql,
        pids: set[str],
        earliest: dt.datetime,
        active_since: dt.datetime | None = None,
    ) -> None:
        """``earliest``: the first time the commit evaluates at (its oldest event or timer);
        ``active_since``: when the newest segment took effect (None: evaluate every segment
        after every event)."""
        names = {
            n.event
            for s in segments
            for n in seg.walk(s.condition)
            if isinstance(n, seg.Performed | seg.NotPerformedSince)
        }
        self.before = stored.members(state, pids)
        self.member_of = dict(self.before)
        self.rows = _rows(state, segments)
        since = earliest - max(s.lookback for s in segments)
        held = self.rows.since
        need = [p for p in pids if p not in held or held[p] > since]
        loaded = stored.behaviour(state, need, since, names)
        for pid in need:
            self.rows.events[pid] = loaded.get(pid, [])
            held[pid] = since
        self.behaviour = self.rows.events
        self.loaded = pids
        self.names = names
        self.changed: set[str] = set()
        self.pending: dict[str, dt.datetime] = {}
        scheduled: dict[str, dt.datetime] = {}
        if active_since is not None:
            keys = [membership.timer_key(p) for p in pids]
            due = stored.timers_due(state, keys)
            scheduled = {k.split(":", 1)[1]: at for k, at in due.items()}
        self.context = membership.Context(
            segments, self.member_of, self.behaviour, self.pending, scheduled, active_since,
            memo=self.rows.memo, index=self.rows.index,
        )  # fmt: skip

    def apply(self, result: core.Step) -> None:
        for merge in result.merges:
            self.behaviour.setdefault(merge.survivor, []).extend(
                self.behaviour.pop(merge.merged, [])
            )
            self.member_of.pop(merge.merged, None)
            for pid in (merge.survivor, merge.merged):  # loaded again by the next commit
                self.rows.since.pop(pid, None)
        self._hold_new(result)
        names = self.names
        for event in result.events:  # each event of the names segments read, remembered
            if event.event in names and event.type == "track" and event.profile_id is not None:
                self.behaviour.setdefault(event.profile_id, []).append(
                    seg.BehaviourEvent(event.event, event.timestamp, event.properties)
                )
        if result.segments is not None:
            pid = result.segments.profile_id
            self.member_of[pid] = result.segments.member_of
            self.changed.add(pid)
            timer = result.segments.timer
            if isinstance(timer, ScheduleTimer):
                self.pending[pid] = timer.due_at
            else:
                self.pending.pop(pid, None)

    def _hold_new(self, result: core.Step) -> None:
        """A profile this commit created has every event of its in ``rows.events`` (each
        is remembered as it is linked): the next commit need not read them again."""
        held, loaded = self.rows.since, self.loaded
        for pid in result.profiles:
            if pid not in loaded and pid not in held:
                if any(pid in (m.survivor, m.merged) for m in result.merges):
                    continue
                held[pid] = _EVER
                self.rows.events.setdefault(pid, [])

    def save(self, state: StateSql, retired: Iterable[str], now: dt.datetime) -> None:
        stored.drop(state, retired)
        after = {pid: self.member_of.get(pid, frozenset()) for pid in self.changed}
        stored.save(state, self.before, after, now)
