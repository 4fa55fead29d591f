"""What the dashboard's pages read and act through: the store's repositories and the runtime's
operations, the same objects the JSON API uses, gathered once by :func:`install`."""

from __future__ import annotations

from dataclasses import dataclass, field

from juncture.runtime.clock import Clock
from juncture.runtime.erasure import Eraser
from juncture.runtime.ingest import Ingestor
from juncture.runtime.measurement import Measurement
from juncture.runtime.reports import Reports
from juncture.runtime.segments import Segments
from juncture.runtime.standing import Standing
from juncture.store.sql import SqlStore


@dataclass(frozen=True, slots=True)
class Sources:
    store: SqlStore
    ingestor: Ingestor
    segments: Segments
    measurement: Measurement
    engine_behind: Standing | None
    eraser: Eraser | None = None  # erasure from Customer 360 (None: not offered)
    reports: Reports = field(default_factory=Reports)  # slow figures, computed once a while

    @property
    def clock(self) -> Clock:
        return self.ingestor.clock
