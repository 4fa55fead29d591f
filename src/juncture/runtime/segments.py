"""Segment operations shared by the CLI and the admin API: validate, apply, evaluate,
export, refresh and history of declared segments, and re-running the automatic ones.

Declared segments (``kind=manual``) keep their definition text; it is parsed again on use,
so size and members are always computed from what was applied. Automatic segments
(``kind=auto``) are the stored result of the last clustering run: their members are the
members table, and their source is a JSON description of the cluster.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import IO, Any, Final

from juncture.analytics import clusters
from juncture.core.events import Event
from juncture.core.segments import conditions as seg
from juncture.definitions import segments as segment_definitions
from juncture.errors import BadInput
from juncture.runtime.engine import Engine
from juncture.runtime.unit_of_work import Processor
from juncture.store import membership as stored
from juncture.store.segments import Refresh, SavedSegment, SegmentStore
from juncture.store.state import StateSql

MOVE_CHUNK: Final = 1000  # profiles decided per transaction of a batch move
MANUAL: Final = "manual"
AUTO: Final = "auto"


@dataclass(frozen=True, slots=True)
class Summary:
    """A saved segment as listed: what it is and how big it is now."""

    saved: SavedSegment
    description: str
    size: int

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.saved.segment_id,
            "name": self.saved.name,
            "kind": self.saved.kind,
            "description": self.description,
            "size": self.size,
            "filename": self.saved.filename,
            "updatedAt": self.saved.updated_at.isoformat(),
        }


class Mover:
    """Batch changes of membership made as the real-time path makes them: the engine decides
    each moved profile again in the writer's transaction, stores its ``Segment Entered`` /
    ``Exited`` event and runs it through the journeys (:meth:`Engine.move`). ``run`` runs a
    processor in a writer's transaction: the server's group committer, or a writer of
    its own for the CLI.

    A move is cut into transactions of ``chunk`` profiles: on SQLite the writer's lock is
    held for one chunk at a time, so a large audience does not hold up ingestion (other
    commits go in between). The size history gets one row per move, in the last one."""

    def __init__(
        self, engine: Engine, run: Callable[[Processor], object], chunk: int = MOVE_CHUNK
    ) -> None:
        self.engine = engine
        self.run = run
        self.chunk = chunk

    def move(self, segment: seg.Segment, members: list[str], now: dt.datetime) -> Refresh:
        wanted = set(members)
        differ: list[str] = []

        def plan(state: StateSql, events: list[Event]) -> list[Event]:
            before = stored.segment_member_ids(state, segment.id)
            differ.extend(sorted(wanted ^ before))  # as Engine.move sees them
            return events

        self.run(plan)
        chunks = [differ[i : i + self.chunk] for i in range(0, len(differ), self.chunk)]
        moved = _Moved()
        for n, only in enumerate(chunks or [[]], 1):
            self.run(
                moved.processor(self.engine, segment, wanted, now, only, last=n >= len(chunks))
            )
        return Refresh(moved.size, tuple(moved.entered), tuple(moved.exited))


@dataclass
class _Moved:
    """What the chunks of one move did so far; the last chunk records the size."""

    size: int = 0
    entered: list[str] = field(default_factory=list)
    exited: list[str] = field(default_factory=list)

    def processor(
        self,
        engine: Engine,
        segment: seg.Segment,
        wanted: set[str],
        now: dt.datetime,
        only: list[str],
        *,
        last: bool,
    ) -> Processor:
        def process(state: StateSql, events: list[Event]) -> list[Event]:
            derived, done = engine.move(state, segment, wanted, now, only=only)
            self.size = done.size
            self.entered.extend(done.entered)
            self.exited.extend(done.exited)
            if last:
                stored.record_size(
                    state, segment.id, now,
                    size=done.size, entered=len(self.entered), exited=len(self.exited),
                )  # fmt: skip
            return [*events, *derived]

        return process


class Segments:
    """What a user can do with segments, over one :class:`SegmentStore`. With a
    :class:`Mover`, applying and refreshing emit ``Segment Entered`` / ``Exited`` for the
    profiles they move (unless told not to); without one they fill the members table
    silently."""

    def __init__(self, store: SegmentStore, mover: Mover | None = None) -> None:
        self.store = store
        self.mover = mover

    def validate(self, text: str, filename: str) -> seg.Segment:
        return segment_definitions.loads(text, filename)

    def apply(
        self, text: str, filename: str, now: dt.datetime, *, events: bool = True
    ) -> tuple[seg.Segment, Refresh]:
        """Validate, save (replacing a definition with the same id) and fill the members
        table as of ``now``; real-time evaluation keeps it current from then on.
        ``events``: emit ``Segment Entered`` for the profiles that already match (and
        ``Exited`` for those a changed definition drops), so segment-entry journeys start
        for them; False fills the table silently (journeys then see only later entries)."""
        segment = segment_definitions.loads(text, filename)
        if self.store.exists(segment.id) and self.store.get(segment.id).kind == AUTO:
            raise BadInput(f"{segment.id!r} is an automatic segment: pick another id")
        self.store.save(segment, text, filename, now, MANUAL)
        return segment, self._fill(segment, now, events)

    def _fill(self, segment: seg.Segment, now: dt.datetime, events: bool) -> Refresh:
        if events and self.mover is not None:
            return self.mover.move(segment, self.store.members(segment, now), now)
        return self.store.refresh(segment, now)

    def preview(self, text: str, filename: str, now: dt.datetime) -> tuple[seg.Segment, int]:
        """Validate a definition and size it at ``now`` without saving anything."""
        segment = segment_definitions.loads(text, filename)
        return segment, self.store.size(segment, now)

    def definition(self, segment_id: str) -> seg.Segment:
        """The declared segment's condition tree (automatic segments have none)."""
        saved = self.store.get(segment_id)
        if saved.kind == AUTO:
            raise BadInput(f"{segment_id!r} is an automatic segment: it has no condition")
        return segment_definitions.loads(saved.source, saved.filename)

    def summary(self, saved: SavedSegment, now: dt.datetime) -> Summary:
        return Summary(saved, self.description(saved), self.size(saved.segment_id, now))

    def description(self, saved: SavedSegment) -> str:
        if saved.kind == AUTO:
            return str(json.loads(saved.source).get("description", ""))
        return segment_definitions.loads(saved.source, saved.filename).description

    def listing(self, now: dt.datetime, kind: str | None = None) -> list[Summary]:
        return [self.summary(s, now) for s in self.store.list(kind)]

    def size(self, segment_id: str, now: dt.datetime) -> int:
        if self.store.get(segment_id).kind == AUTO:
            return self.store.stored_size(segment_id)
        return self.store.size(self.definition(segment_id), now)

    def members(
        self, segment_id: str, now: dt.datetime, *, after: str = "", limit: int = 100
    ) -> list[str]:
        if self.store.get(segment_id).kind == AUTO:
            return [p for p, _ in self.store.stored_members(segment_id, after=after, limit=limit)]
        return self.store.members(self.definition(segment_id), now, after=after, limit=limit)

    def export(self, segment_id: str, now: dt.datetime, out: IO[str]) -> int:
        if self.store.get(segment_id).kind == AUTO:
            return self.store.export_stored_csv(segment_id, out)
        return self.store.export_csv(self.definition(segment_id), now, out)

    def refresh(
        self, segment_id: str | None, now: dt.datetime, *, events: bool = True
    ) -> dict[str, Refresh]:
        """Re-evaluate one declared segment, or all of them, into the members table
        (``events`` as for :meth:`apply`)."""
        ids = [segment_id] if segment_id else [s.segment_id for s in self.store.list(MANUAL)]
        return {sid: self._fill(self.definition(sid), now, events) for sid in ids}

    def history(self, segment_id: str) -> list[dict[str, Any]]:
        self.store.get(segment_id)
        return self.store.sizes(segment_id)

    def auto(self, now: dt.datetime, k: int = 5, seed: int = 0) -> list[clusters.Cluster]:
        """Cluster every live profile into ``k`` automatic segments, replacing the last run."""
        if not 2 <= k <= 50:
            raise BadInput(f"k is the number of clusters, 2 to 50, not {k}")
        ids: list[str] = []
        matrix: list[list[float]] = []
        for pid, profile in self.store.live_profiles():
            ids.append(pid)
            matrix.append(clusters.features(profile, now))
        if len(ids) < k:
            raise BadInput(f"only {len(ids)} profiles: too few for {k} clusters")
        try:
            found = clusters.cluster(ids, matrix, k, seed)
        except ValueError as exc:
            raise BadInput(str(exc)) from exc
        self.store.delete_kind(AUTO)
        for c in found:
            segment_id = f"auto-{c.index + 1}"
            source = {
                "id": segment_id,
                "name": c.name,
                "description": c.description,
                "features": dict(c.traits),
                "k": k,
                "seed": seed,
            }
            placeholder = seg.Segment(segment_id, c.name, seg.All(()))
            self.store.save(placeholder, json.dumps(source), "auto", now, AUTO)
            self.store.replace_members(segment_id, c.members, now)
        return found
