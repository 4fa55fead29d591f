"""Where a distributed run's CPU goes, per event and per part (``juncture bench scale``).

A :class:`Meter` reads, when made and again at :meth:`Meter.spent`, the CPU seconds of
each part from Linux's ``/proc``: the worker processes; PostgreSQL's backends serving the
run's database with its WAL writer, checkpointer and background writer (shared with other
databases of the server, so a little high on a busy one); the log's server process
(``nats-server`` or ``redis-server``, shared with any other user of it: an upper bound);
and this process (appending and sampling). With the machine's busy cores over the same
interval it says whether the machine, not the code, was the limit: the run's ceiling on
this machine is its cores over the CPU per event of every part together.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

from juncture.bench.ingest import cpu_seconds
from juncture.store import scratch
from juncture.store.sql import SqlStore

PARTS: Final = ("workers", "postgres", "log", "bench")
_LOG_SERVERS: Final = {"nats": "nats-server", "redis": "redis-server"}
_WRITERS: Final = ("walwriter", "checkpointer", "background writer")


def processes(name: str) -> dict[int, float]:
    """CPU seconds so far of each process whose command is ``name``."""
    found: dict[int, float] = {}
    for comm in Path("/proc").glob("[0-9]*/comm"):
        try:
            if comm.read_text().strip() == name:
                found[int(comm.parent.name)] = cpu_seconds(int(comm.parent.name))
        except OSError:
            continue
    return found


def machine_busy() -> float:
    """CPU seconds every core of the machine has spent busy so far (``/proc/stat``)."""
    try:
        fields = [int(f) for f in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return 0.0
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle and iowait
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


class Meter:
    """The CPU of one run's parts, from now (see the module)."""

    def __init__(self, store: SqlStore, log_url: str, workers: Sequence[int]) -> None:
        self._store, self._workers = store, list(workers)
        self._log = _LOG_SERVERS.get(log_url.split(":", 1)[0], "")
        self._postgres = processes("postgres")
        self._start = self._now(postgres=0.0)

    def spent(self, events: int, seconds: float) -> dict[str, Any]:
        """Microseconds of CPU per event of each part and of all, the cores the machine
        and the run's parts kept busy over ``seconds``, and the ceiling they give."""
        postgres, ours = processes("postgres"), scratch.backends(self._store.engine, _WRITERS)
        before = dict(self._start, postgres=sum(self._postgres.get(p, 0.0) for p in ours))
        now = self._now(postgres=sum(postgres.get(p, 0.0) for p in ours))
        used = {part: max(0.0, now[part] - before[part]) for part in (*PARTS, "machine")}
        per_event = {f"{part}_cpu_us_per_event": used[part] / events * 1e6 for part in PARTS}
        total = sum(used[part] for part in PARTS)
        cores = os.cpu_count() or 1
        return {
            **per_event,
            "cpu_us_per_event": total / events * 1e6,
            "cores": cores,
            "cores_busy": used["machine"] / seconds,
            "run_cores_busy": total / seconds,
            "ceiling_events_per_s": cores * events / total if total else 0.0,
        }

    def _now(self, *, postgres: float) -> dict[str, float]:
        return {
            "workers": sum(cpu_seconds(pid) for pid in self._workers),
            "postgres": postgres,
            "log": sum(processes(self._log).values()) if self._log else 0.0,
            "bench": time.process_time(),
            "machine": machine_busy(),
        }


def describe(found: dict[str, Any]) -> str:
    """One line of a run's CPU per event and the machine's busy cores."""
    return (
        f"CPU per event: workers {found['workers_cpu_us_per_event']:.0f} us, "
        f"PostgreSQL {found['postgres_cpu_us_per_event']:.0f} us, "
        f"log server {found['log_cpu_us_per_event']:.0f} us, "
        f"bench {found['bench_cpu_us_per_event']:.0f} us, "
        f"{found['cpu_us_per_event']:.0f} us in all; "
        f"{found['cores_busy']:.1f} of {found['cores']} cores busy "
        f"({found['run_cores_busy']:.2f} by the run; ceiling here "
        f"{found['ceiling_events_per_s']:,.0f} events/s)"
    )
