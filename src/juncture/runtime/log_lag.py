"""How far the workers are behind the distributed log, partition by partition, computed
from the log's own positions and the positions the workers committed in PostgreSQL; and
read-your-writes over it.

A partition's lag is what the log holds after the position committed for it
(``log_positions``, ``log:<name>:<n>``): how many records (:meth:`Log.pending`: JetStream's
pending count from there, a count in Redis) and the age of the first, from its receipt
(the event's ``receivedAt``). Any process that reaches the log and the database measures
it alike: the stateless ``juncture serve`` nodes and the workers.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from juncture.errors import EngineNotReady
from juncture.log import Log
from juncture.log.base import partition_of
from juncture.runtime.worker import position_name
from juncture.store.log_positions import Behind, LogPositions

_POLL: Final = 0.02  # seconds between reads of the positions, waiting for a worker


@dataclass(frozen=True, slots=True)
class PartitionLag:
    """One partition: the position committed, what is after it, whether a worker owns it."""

    partition: int
    position: int
    events: int
    oldest: dt.datetime | None
    owned: bool

    def seconds(self, now: dt.datetime) -> float:
        return Behind(self.events, self.oldest).seconds(now)

    def json(self, now: dt.datetime) -> dict[str, object]:
        return {
            "partition": self.partition,
            "events": self.events,
            "seconds": round(self.seconds(now), 3),
            "owned": self.owned,
        }


class LogLag:
    """The workers' standing behind the distributed log (a
    :class:`~juncture.runtime.standing.Standing`; see the module)."""

    def __init__(
        self,
        log: Log,
        positions: LogPositions,
        owners: Callable[[], dict[int, int]],
        *,
        name: str,
        wait: float,
        max_lag: float,
    ) -> None:
        self._log = log
        self._positions = positions
        self._owners = owners
        self._names = [position_name(name, p) for p in range(log.partitions)]
        self._wait = wait
        self._max_lag = max_lag

    def partitions(self) -> list[PartitionLag]:
        """Every partition's lag, in partition order."""
        committed = self._positions.positions(self._names)
        owned = self._owners()
        out = []
        for partition, name in enumerate(self._names):
            pending = self._log.pending(partition, committed[name])
            first = pending.first.event().received_at if pending.first is not None else None
            out.append(
                PartitionLag(partition, committed[name], pending.records, first, partition in owned)
            )
        return out

    def lag(self) -> Behind:
        parts = self.partitions()
        oldest = [p.oldest for p in parts if p.oldest is not None]
        return Behind(sum(p.events for p in parts), min(oldest) if oldest else None)

    def running(self) -> bool:
        return len(self._owners()) == self._log.partitions

    def failing(self) -> str | None:
        return None  # a worker's failures are its own (its /readyz)

    def catch_up(self, keys: Sequence[str] = ()) -> bool:
        """Wait until each partition of ``keys`` (every partition when none is named) has
        been applied up to the newest record it holds now, whichever node appended it;
        whether that happened within the bound."""
        count = self._log.partitions
        wanted = sorted({partition_of(k, count) for k in keys}) or range(count)
        heads = {self._names[p]: self._log.last(p) for p in wanted}
        heads = {name: head for name, head in heads.items() if head}
        deadline = time.monotonic() + self._wait
        while heads:
            at = self._positions.positions(list(heads))
            heads = {name: head for name, head in heads.items() if at[name] < head}
            if not heads:
                break
            if time.monotonic() >= deadline:
                return False
            time.sleep(_POLL)
        return True

    def unready(self, now: dt.datetime) -> EngineNotReady | None:
        """Not ready while some partition is further behind than ``max_lag`` seconds
        (0: never); the answer names them."""
        if self._max_lag <= 0:
            return None
        late = [p for p in self.partitions() if p.seconds(now) > self._max_lag]
        if not late:
            return None
        return EngineNotReady(
            f"{len(late)} partition(s) of the log are further behind than {self._max_lag:g} s",
            partitions=[p.json(now) for p in late],
        )
