"""The writer's cache of the engine's working set (:class:`Cache`), kept between commits,
and the decoded forms it holds."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Final

import msgspec

from juncture.core.identity import Node
from juncture.core.journeys.arbitration import Contact
from juncture.core.journeys.state import Enrollment
from juncture.core.profile.model import Profile
from juncture.core.segments import conditions as seg
from juncture.core.segments import membership
from juncture.core.segments.hits import HitMemo
from juncture.core.segments.index import Index

# The tables the cache holds rows of (profiles with their product views and identity
# nodes, identities, devices, enrollments, and the outbox for recent contacts): a write to
# one of them, or to the events linked to a profile (a profile's recent events are cached
# for segments), by any connection but the keeper's bumps the one row of
# ``state_generation`` (``store/state_generation.py``); other tables (the log's unlinked
# events, data quality, the catalogue) do not.
WATCHED: Final = (
    "identities", "profiles", "product_views", "device_users", "enrollments", "outbox",
)  # fmt: skip
_json_decoder: Final = msgspec.json.Decoder()
_enrollment_decoder: Final = msgspec.json.Decoder(Enrollment)


def stored_enrollment(state: str | bytes) -> Enrollment:
    """An enrollment's stored state, decoded straight into the dataclass (about three times
    cheaper than :meth:`Enrollment.from_json` on a parsed document, and the same object);
    one whose fields do not have exactly their types (an older form, say) is read by the
    more lenient ``from_json``."""
    try:
        return _enrollment_decoder.decode(state)
    except msgspec.ValidationError:
        return Enrollment.from_json(_json_decoder.decode(state))


# A profile row as loaded: (redirect_to, node, profile); node and profile only when live.
ProfileRow = tuple[str | None, Node | None, Profile | None]


@dataclass(slots=True)
class JourneyRows:
    """A profile's journey rows as loaded: its enrollments by id, in the store's order (an
    enrollment saved since is kept as its stored JSON, decoded when next loaded: many are
    saved again before that), and its marketing contacts created at ``since`` or later,
    each with its ``created_at`` as stored (so that a later load with a later ``since`` can
    leave out what fell behind)."""

    since: Any
    enrollments: dict[str, Enrollment | str]
    contacts: list[tuple[Any, Contact]]

    def decoded(self) -> tuple[Enrollment, ...]:
        for eid, found in self.enrollments.items():
            if isinstance(found, str):
                self.enrollments[eid] = stored_enrollment(found)
        return tuple(e for e in self.enrollments.values() if isinstance(e, Enrollment))


@dataclass(slots=True)
class SegmentRows:
    """The real-time segments' working set, kept between commits for the active segments
    ``segments`` (the very tuple: new definitions start it over): per profile, its events
    of the names they read since ``since[pid]`` as loaded then, with every event the engine
    linked to it since appended (so always what a load at the same ``since`` would give),
    and the behaviour leaves matched in them (``memo``); and the segments' ``index``."""

    segments: tuple[seg.Segment, ...]
    since: dict[str, dt.datetime] = field(default_factory=dict)
    events: dict[str, list[seg.BehaviourEvent]] = field(default_factory=dict)
    memo: HitMemo = field(init=False)
    index: Index = field(init=False)

    def __post_init__(self) -> None:
        self.memo = HitMemo(self.segments)
        self.index = membership.index_of(self.segments)


@dataclass
class Cache:
    """Decoded rows of the working set, kept between commits by the one writer that owns
    it, so that a profile touched again is not read and decoded again. Its keeper must
    :meth:`clear` it whenever it may differ from the store: on a rollback, and when another
    connection has changed a table it holds rows of (:data:`WATCHED`: the generation their
    writers bump moved since the keeper's last commit; ingestion appending to the log, or
    data-quality counts, leave it). Bounded: past
    ``max_rows`` profiles it starts over (a decoded profile takes about twice its JSON in
    memory: some 13 KB for a shopper with 20 product views, so about 260 MB at the bound).
    ``journeys`` holds each loaded profile's enrollments and recent contacts; a merge drops
    both profiles' (their rows change hands in SQL); ``segments`` the recent events of
    loaded profiles (:class:`SegmentRows`)."""

    max_rows: int = 20_000
    ids: dict[str, str] = field(default_factory=dict)
    profiles: dict[str, ProfileRow] = field(default_factory=dict)
    devices: dict[str, tuple[str, ...]] = field(default_factory=dict)
    journeys: dict[str, JourneyRows] = field(default_factory=dict)
    segments: SegmentRows | None = None

    def clear(self) -> None:
        self.ids.clear()
        self.profiles.clear()
        self.devices.clear()
        self.journeys.clear()
        self.segments = None

    def trim(self) -> None:
        held = len(self.segments.since) if self.segments is not None else 0
        rows = max(
            len(self.profiles), len(self.ids) // 4, len(self.devices), len(self.journeys), held
        )
        if rows > self.max_rows:
            self.clear()
