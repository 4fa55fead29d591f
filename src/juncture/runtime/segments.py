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
from dataclasses import dataclass
from typing import IO, Any, Final

import msgspec

from juncture import segment_definitions as definitions
from juncture.analytics import clusters
from juncture.core import segments as seg
from juncture.core.profile import Profile
from juncture.errors import BadInput
from juncture.store.segments import Refresh, SavedSegment, SegmentStore

MANUAL: Final = "manual"
AUTO: Final = "auto"
_decode: Final = msgspec.json.Decoder(Profile)


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


class Segments:
    """What a user can do with segments, over one :class:`SegmentStore`."""

    def __init__(self, store: SegmentStore) -> None:
        self.store = store

    def validate(self, text: str, filename: str) -> seg.Segment:
        return definitions.loads(text, filename)

    def apply(self, text: str, filename: str, now: dt.datetime) -> tuple[seg.Segment, Refresh]:
        """Validate, save (replacing a definition with the same id) and fill the members
        table as of ``now``; real-time evaluation keeps it current from then on."""
        segment = definitions.loads(text, filename)
        if self.store.exists(segment.id) and self.store.get(segment.id).kind == AUTO:
            raise BadInput(f"{segment.id!r} is an automatic segment: pick another id")
        self.store.save(segment, text, filename, now, MANUAL)
        return segment, self.store.refresh(segment, now)

    def definition(self, segment_id: str) -> seg.Segment:
        """The declared segment's condition tree (automatic segments have none)."""
        saved = self.store.get(segment_id)
        if saved.kind == AUTO:
            raise BadInput(f"{segment_id!r} is an automatic segment: it has no condition")
        return definitions.loads(saved.source, saved.filename)

    def summary(self, saved: SavedSegment, now: dt.datetime) -> Summary:
        return Summary(saved, self.description(saved), self.size(saved.segment_id, now))

    def description(self, saved: SavedSegment) -> str:
        if saved.kind == AUTO:
            return str(json.loads(saved.source).get("description", ""))
        return definitions.loads(saved.source, saved.filename).description

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

    def refresh(self, segment_id: str | None, now: dt.datetime) -> dict[str, Refresh]:
        """Re-evaluate one declared segment, or all of them, into the members table."""
        ids = [segment_id] if segment_id else [s.segment_id for s in self.store.list(MANUAL)]
        return {sid: self.store.refresh(self.definition(sid), now) for sid in ids}

    def history(self, segment_id: str) -> list[dict[str, Any]]:
        self.store.get(segment_id)
        return self.store.sizes(segment_id)

    def auto(self, now: dt.datetime, k: int = 5, seed: int = 0) -> list[clusters.Cluster]:
        """Cluster every live profile into ``k`` automatic segments, replacing the last run."""
        if not 2 <= k <= 50:
            raise BadInput(f"k is the number of clusters, 2 to 50, not {k}")
        ids: list[str] = []
        matrix: list[list[float]] = []
        for pid, body in self.store.live_profiles():
            ids.append(pid)
            matrix.append(clusters.features(_decode.decode(body), now))
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
