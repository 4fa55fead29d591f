"""``juncture bench scale``: the distributed log and 1, 2, 4 ``juncture worker`` processes
against PostgreSQL, with shoppers signing in and merging across partitions.

The events are :mod:`juncture.bench.scale_people`'s: product views of anonymous devices,
and a share of Segment ``identify`` calls (5% by default) of customers signing in, some on
a second device, which merges two persons whose events went to different partitions.
First the log alone: appends of the run's events in batches of 100 (as an HTTP batch
is), each batch acknowledged before the next, on NATS JetStream and on Redis Streams.
Then, per worker count, a fresh PostgreSQL database and a fresh log: the workers start and
share the partitions, the events are appended as fast as the log takes them, and the
bench times until every partition's position has reached the log's end, with the CPU each
part spent per event (:mod:`juncture.bench.cpu`: the workers, this database's PostgreSQL
backends and its writers, the log's server, the bench appending) and how many of the
machine's cores were busy meanwhile, from which the run's ceiling on this machine follows
(cores over the CPU per event), and the merges the run made (merges/s). Then two phases
of equal size timed and metered alike: one view of each customer a device is about to
join (routed by the user id), then each such device's sign-in, every one a merge: a
merge's rate and CPU against a plain event's on the same people and partitions, also net
of what the parts spend with nothing to apply (measured for 3 s before them), as a short
phase spends part of its time waiting for its last events. Every
event must be stored once, and every person on exactly one live profile counting exactly
their events. Last, a steady load at half the run's rate for a few seconds, with the lag
(now less the receipt of the oldest event not applied yet) sampled every 0.2 s. The raw
limit is the one-worker rate: each count's ratio is its rate over that many single
workers (1.0: it scales linearly; the first count given is the reference).
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from juncture.bench import cpu, scale_people
from juncture.bench.ingest import percentile, stored_counts
from juncture.bench.scale_people import Load
from juncture.core.events import Event
from juncture.log import Log, connect
from juncture.log.base import Entry, entry
from juncture.store import scratch, tallies
from juncture.store.leases import owners
from juncture.store.sql import SqlStore

Echo = Callable[[str], None]
BATCH = 100
STEADY_SECONDS = 8.0
IDLE_SECONDS = 3.0


def appends(url: str, events: Sequence[Event], partitions: int) -> dict[str, Any]:
    """Events/s appended to the log at ``url``, a batch of 100 acknowledged at a time."""
    log = connect(url, partitions, name=f"bench{uuid.uuid4().hex[:8]}")
    try:
        entries = [entry(e, partitions) for e in events]
        started = time.perf_counter()
        for start in range(0, len(entries), BATCH):
            log.append(entries[start : start + BATCH])
        seconds = time.perf_counter() - started
    finally:
        _delete(log)
    return {"events": len(events), "events_per_s": len(events) / seconds}


def workers_run(
    base_url: str, log_url: str, load: Load, count: int, partitions: int
) -> dict[str, Any]:
    """``count`` workers applying ``load`` from a fresh log into a fresh database."""
    name = f"scale{uuid.uuid4().hex[:8]}"
    with scratch.postgres(base_url, "scale") as url:
        store = SqlStore(url)
        store.migrate()
        log = connect(log_url, partitions, name=name)
        env = {
            "JUNCTURE_DATABASE_URL": url,
            "JUNCTURE_LOG_URL": log_url,
            "JUNCTURE_LOG_NAME": name,
            "JUNCTURE_LOG_PARTITIONS": str(partitions),
            "JUNCTURE_WORKER_LEASE_INTERVAL": "0.5",
        }
        procs = [_worker(env) for _ in range(count)]
        try:
            _until(lambda: _shared(store, name, count, partitions), 300)
            running = Workers(store, log, name, log_url, [p.pid for p in procs])
            found = running.phase(load.run)
            merged = tallies.merges(store)
            idle = running.idle()
            views = net(running.phase(load.views), idle)
            merges = net(running.phase(load.merges), idle)
            merges["merges"] = tallies.merges(store) - merged
            stored = stored_counts(url)[0]
            wrong = scale_people.wrong_people(store, load.people)
            rate = found["events_per_s"]
            lags = steady_lag(store, log, name, load.run, rate=rate / 2)
        finally:
            for proc in procs:
                proc.terminate()
            for proc in procs:
                proc.wait(30)
            _delete(log)
            store.close()
    return {
        "workers": count,
        **found,
        "appended": len(load.run) + len(load.views) + len(load.merges),
        "stored": stored,
        "identifies": load.identifies,
        "merges": merged,
        "merges_per_s": merged / found["seconds"],
        "people": len(load.people),
        "people_wrong": len(wrong),
        "wrong": wrong[:5],
        "idle_cores": idle,
        "views_alone": views,
        "merges_alone": {**merges, "crossing": load.crossing},
        "steady_rate": rate / 2,
        "lag_p50_s": percentile(lags, 0.5),
        "lag_p99_s": percentile(lags, 0.99),
    }


@dataclass(frozen=True)
class Workers:
    """Workers running on a database and a log of the bench's own."""

    store: SqlStore
    log: Log
    name: str
    log_url: str
    pids: Sequence[int]

    def phase(self, events: Sequence[Event]) -> dict[str, Any]:
        """``events`` appended as fast as the log takes them, timed until every partition
        is applied up to them, with the CPU each part spent (nothing when there are none)."""
        if not events:
            return {"events": 0, "seconds": 0.0, "events_per_s": 0.0}
        meter = cpu.Meter(self.store, self.log_url, self.pids)
        started = time.perf_counter()
        entries = [entry(e, self.log.partitions) for e in events]
        for start in range(0, len(entries), BATCH):
            self.log.append(entries[start : start + BATCH])
        last = {p: self.log.last(p) for p in range(self.log.partitions)}
        _until(lambda: _caught_up(self.store, self.name, last), 600)
        seconds = time.perf_counter() - started
        return {
            "events": len(events),
            "seconds": seconds,
            "events_per_s": len(events) / seconds,
            **meter.spent(len(events), seconds),
        }

    def idle(self, seconds: float = IDLE_SECONDS) -> dict[str, float]:
        """The cores each part keeps busy while the workers have nothing to apply (they
        look at each partition every 20 ms and at the leases every interval)."""
        meter = cpu.Meter(self.store, self.log_url, self.pids)
        started = time.perf_counter()
        time.sleep(seconds)
        spent = meter.spent(1, time.perf_counter() - started)
        return {part: spent[f"{part}_cpu_us_per_event"] / 1e6 / seconds for part in cpu.PARTS}


def net(found: dict[str, Any], idle: dict[str, float]) -> dict[str, Any]:
    """``found`` with its CPU per event net of what the parts spend idle over its time (a
    short phase spends a good share waiting for its last events; the idle figure includes
    other users of the log's server): ``net_<part>_cpu_us_per_event`` and in all."""
    if not found["events"]:
        return found
    per_event = found["seconds"] / found["events"] * 1e6
    parts = {
        f"net_{part}_cpu_us_per_event": max(
            0.0, found[f"{part}_cpu_us_per_event"] - idle[part] * per_event
        )
        for part in cpu.PARTS
    }
    return {**found, **parts, "net_cpu_us_per_event": sum(parts.values())}


def steady_lag(
    store: SqlStore, log: Log, name: str, events: Sequence[Event], *, rate: float
) -> list[float]:
    """Append copies of ``events`` (new ids, received now) at ``rate`` per second for a few
    seconds; the lag sampled every 0.2 s meanwhile."""
    samples: list[float] = []
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.2):
            samples.append(_lag(store, log, name))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    sent = 0
    try:
        while (elapsed := time.perf_counter() - started) < STEADY_SECONDS:
            due = int(elapsed * rate) - sent
            if due < BATCH:
                time.sleep(BATCH / rate / 4)
                continue
            log.append(_fresh(events, sent, BATCH, log.partitions))
            sent += BATCH
    finally:
        done.set()
        sampler.join()
    return samples


def _fresh(events: Sequence[Event], start: int, count: int, partitions: int) -> list[Entry]:
    now = dt.datetime.now(dt.UTC)
    return [
        entry(
            msgspec.structs.replace(
                events[(start + i) % len(events)], message_id=f"steady-{start + i}", received_at=now
            ),
            partitions,
        )
        for i in range(count)
    ]


def _lag(store: SqlStore, log: Log, name: str) -> float:
    """Seconds since the oldest event not applied yet was received (0: none)."""
    now = dt.datetime.now(dt.UTC)
    oldest = 0.0
    for p in range(log.partitions):
        at = store.log_positions.position(f"log:{name}:{p}")
        waiting = log.read(p, at, 1, 0.0)
        if waiting:
            oldest = max(oldest, (now - waiting[0].event().received_at).total_seconds())
    return oldest


def _worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "juncture", "worker"],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def _shared(store: SqlStore, name: str, count: int, partitions: int) -> bool:
    held = owners(store.engine, name)
    return len(held) == partitions and len(set(held.values())) == count


def _caught_up(store: SqlStore, name: str, last: dict[int, int]) -> bool:
    positions = store.log_positions
    return all(positions.position(f"log:{name}:{p}") >= end for p, end in last.items())


def _until(check: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError("the workers did not get there in time")
        time.sleep(0.05)


def _delete(log: Log) -> None:
    delete = getattr(log, "delete", None)
    if delete is not None:
        delete()
    log.close()


def run(
    *,
    events: int,
    postgres_url: str,
    log_url: str,
    compare: Sequence[str],
    workers: Sequence[int],
    partitions: int,
    echo: Echo,
    identify_share: float = scale_people.IDENTIFY_SHARE,
) -> dict[str, Any]:
    load = scale_people.load(events, identify_share, partitions)
    results: dict[str, Any] = {
        "events": len(load.run),
        "identify_share": identify_share,
        "partitions": partitions,
        "appends": {},
    }
    for url in compare:
        found = appends(url, load.run, partitions)
        results["appends"][url.split(":", 1)[0]] = found
        echo(f"appends to {url}: {found['events_per_s']:,.0f} events/s (batches of {BATCH})")
    runs: list[dict[str, Any]] = []
    for count in workers:
        found = workers_run(postgres_url, log_url, load, count, partitions)
        single = runs[0]["events_per_s"] if runs else found["events_per_s"]
        found["ratio"] = found["events_per_s"] / (single * count)
        runs.append(found)
        echo(
            f"{count} worker(s): {found['events_per_s']:,.0f} events/s "
            f"(ratio {found['ratio']:.2f} of {count} x one worker), "
            f"{cpu.describe(found)}, "
            f"{found['stored']:,} stored of {found['appended']:,} appended; lag at "
            f"{found['steady_rate']:,.0f}/s p50 {found['lag_p50_s']:.2f} s, "
            f"p99 {found['lag_p99_s']:.2f} s"
        )
        echo(f"  identity: {describe_identity(found)}")
    results["workers"] = runs
    results["failures"] = failures(runs)
    return results


def failures(runs: Sequence[dict[str, Any]]) -> list[str]:
    """What a run got wrong (none: every appended event stored once, every person on one
    live profile counting exactly): ``juncture bench scale`` exits 1 when there is any."""
    found = []
    for run in runs:
        workers = f"{run['workers']} worker(s)"
        if run["stored"] != run["appended"]:
            found.append(f"{workers}: {run['stored']:,} events stored of {run['appended']:,}")
        if run["people_wrong"]:
            found.append(f"{workers}: {run['people_wrong']:,} people with a wrong profile")
    return found


def describe_identity(found: dict[str, Any]) -> str:
    """One line of a run's identifies and merges, and a merge's cost against a view's."""
    views, merges = found["views_alone"], found["merges_alone"]
    line = (
        f"{found['identifies']:,} identifies and {found['merges']:,} merges in the run "
        f"({found['merges_per_s']:,.1f} merges/s); {found['people']:,} people, "
        f"{found['people_wrong']} with a wrong profile"
        + (f" ({'; '.join(found['wrong'])})" if found["wrong"] else "")
    )
    if not merges["events"]:
        return line
    return line + (
        f"; alone: {merges['merges']:,} merges ({merges['crossing']:,} across partitions) "
        f"at {merges['events_per_s']:,.0f}/s, CPU per merge {_parts(merges)}, against "
        f"{_parts(views)} per view of the same customers at {views['events_per_s']:,.0f}/s"
    )


def _parts(found: dict[str, Any]) -> str:
    return (
        f"{found['cpu_us_per_event']:,.0f} us (net of idle polling "
        f"{found['net_cpu_us_per_event']:,.0f}: "
        f"workers {found['net_workers_cpu_us_per_event']:,.0f}, "
        f"PostgreSQL {found['net_postgres_cpu_us_per_event']:,.0f})"
    )
