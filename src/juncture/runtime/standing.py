"""Where the engine stands behind its log, as the API, the dashboard, the summaries job and
the CLI ask it: one interface, two kinds. The embedded table-log's engine (a thread or a
process of ``juncture serve``: :class:`~juncture.runtime.follower.EngineBehind`) and the
distributed log's workers (:class:`~juncture.runtime.log_lag.LogLag`, every partition)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Protocol

from juncture.errors import EngineNotReady
from juncture.store.log_positions import Behind


class Standing(Protocol):
    def lag(self) -> Behind:
        """Client events accepted and not applied yet, in all, and the oldest's receipt."""
        ...

    def running(self) -> bool:
        """Whether the engine runs (with the distributed log: every partition has a
        worker)."""
        ...

    def failing(self) -> str | None:
        """Why the engine's commits fail now (None: they do not)."""
        ...

    def catch_up(self, keys: Sequence[str] = ()) -> bool:
        """Wait, up to the configured bound, until every event accepted before the call is
        applied (where ``keys`` names people by their routing ids, the distributed log waits
        for their partitions only); whether it was."""
        ...

    def unready(self, now: dt.datetime) -> EngineNotReady | None:
        """Why the engine is not ready (None: it is)."""
        ...
