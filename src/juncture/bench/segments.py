"""``juncture bench segments``: batch evaluation of a behavioural segment over a million
profiles, against the raw limit of scanning the same tables, and the incremental cost of
keeping memberships current per event.

The data are synthetic rows bulk-inserted into a freshly migrated store (``executemany`` on
SQLite, ``COPY`` on PostgreSQL), not sent through the engine: profiles with facts, and
product views, adds and orders over the last two weeks. The segment is the shipped
"viewed running shoes 3 times this week, not bought". The raw limit, measured in the same
run, counts the live profiles and reads the body of every event in the window of the event
names the segment reads: any evaluation that filters on event properties must do at least
that (an index-only count is printed beside it).
The incremental figures are the pure evaluation of one event against every shipped
segment, and the engine's extra time per event with the shipped segments active,
measured over the same events with and without them (alternating rounds, medians).
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Final

import msgspec
import orjson

from juncture import wiring
from juncture.core import messages
from juncture.core.events import Event
from juncture.core.profile.model import Profile
from juncture.core.segments import conditions as seg
from juncture.core.segments import membership
from juncture.core.segments.hits import HitMemo
from juncture.definitions import segments as segment_definitions
from juncture.runtime import heap
from juncture.runtime.clock import ManualClock
from juncture.runtime.segments import Segments
from juncture.settings import Settings
from juncture.store import raw_limits, scratch
from juncture.store.sql import SqlStore

Echo = Callable[[str], None]
NOW: Final = dt.datetime(2026, 3, 16, tzinfo=dt.UTC)
CATEGORIES: Final = (
    "Women > Shoes > Running", "Men > Shoes > Sneakers", "Women > Clothing > Dresses",
    "Men > Clothing > Shirts", "Home > Kitchen > Coffee", "Beauty > Skincare > Moisturisers",
    "Sports > Yoga > Mats", "Electronics > Audio > Headphones", "Kids > Toys > Building",
    "Home > Bedding > Duvets",
)  # fmt: skip
CITIES: Final = (("Berlin", "DE"), ("Hamburg", "DE"), ("Paris", "FR"), ("Vienna", "AT"),
                 ("London", "GB"), ("Madrid", "ES"))  # fmt: skip
CHUNK: Final = 20_000
_PROFILE_COLUMNS: Final = (
    "profile_id", "first_seen", "last_seen", "stage", "email", "country", "city",
    "order_count", "revenue", "last_order_at", "cart_value", "cart_items", "sessions",
    "traits", "consent",
)  # fmt: skip
_EVENT_COLUMNS: Final = ("seq", "source", "message_id", "type", "event", "user_id",
                         "timestamp", "received_at", "body", "profile_id")  # fmt: skip


def running_segment() -> seg.Segment:
    path = segment_definitions.LIBRARY / "behavioural_running_shoes.yaml"
    return segment_definitions.load(path)


def _t(value: dt.datetime | None, sqlite: bool) -> Any:
    if value is None or not sqlite:
        return value
    return value.strftime("%Y-%m-%d %H:%M:%S.%f")


def profile_rows(n: int, seed: int, sqlite: bool) -> Iterator[list[tuple[Any, ...]]]:
    rng = random.Random(seed)  # noqa: S311 - synthetic data
    rows: list[tuple[Any, ...]] = []
    for i in range(n):
        city, country = CITIES[rng.randrange(len(CITIES))]
        orders = rng.choice((0, 0, 0, 1, 1, 2, 3, 5))
        last_order = NOW - dt.timedelta(hours=rng.randrange(24 * 200)) if orders else None
        seen = NOW - dt.timedelta(minutes=rng.randrange(60 * 24 * 30))
        rows.append((
            f"p{i:08d}", _t(seen - dt.timedelta(days=60), sqlite), _t(seen, sqlite),
            "consideration", f"c{i}@example.com", country, city, orders,
            round(orders * rng.uniform(20, 120), 2), _t(last_order, sqlite), 0.0, 0,
            rng.randrange(1, 30), "{}", '{"email:marketing": true}',
        ))  # fmt: skip
        if len(rows) == CHUNK:
            yield rows
            rows = []
    if rows:
        yield rows


def event_rows(n: int, profiles: int, seed: int, sqlite: bool) -> Iterator[list[tuple[Any, ...]]]:
    """Views (75%, one in ten of running shoes), adds (17%) and orders (8%) over 14 days."""
    rng = random.Random(seed + 1)  # noqa: S311 - synthetic data
    bodies = {c: orjson.dumps({"properties": {"category": c, "price": 49.0}}).decode()
              for c in CATEGORIES}  # fmt: skip
    order_body = orjson.dumps({"properties": {"order_id": "o", "total": 80.0}}).decode()
    rows: list[tuple[Any, ...]] = []
    for i in range(n):
        pid = f"p{rng.randrange(profiles):08d}"
        at = _t(NOW - dt.timedelta(seconds=rng.randrange(14 * 86400)), sqlite)
        roll = rng.random()
        if roll < 0.75:
            name, body = "Product Viewed", bodies[CATEGORIES[rng.randrange(len(CATEGORIES))]]
        elif roll < 0.92:
            name, body = "Product Added", bodies[CATEGORIES[rng.randrange(len(CATEGORIES))]]
        else:
            name, body = "Order Completed", order_body
        rows.append((i + 1, "bench", f"m{i}", "track", name, pid, at, at, body, pid))
        if len(rows) == CHUNK:
            yield rows
            rows = []
    if rows:
        yield rows


def fill(url: str, profiles: int, events: int, seed: int, echo: Echo) -> float:
    """Bulk-insert the synthetic rows (:func:`juncture.store.scratch.fill`); returns the
    seconds it took."""
    store = SqlStore(url)
    store.migrate()
    sqlite = store.dialect == "sqlite"
    started = time.perf_counter()
    try:
        scratch.fill(
            store,
            (
                ("profiles", _PROFILE_COLUMNS, profile_rows(profiles, seed, sqlite)),
                ("events", _EVENT_COLUMNS, event_rows(events, profiles, seed, sqlite)),
            ),
            lambda table: echo(f"  inserting {table} ..."),
        )
    finally:
        store.close()
    return time.perf_counter() - started


def _best(fn: Callable[[], object], runs: int = 3) -> tuple[float, object]:
    times, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - started)
    return min(times), result


def raw_scan(store: SqlStore, segment: seg.Segment, read_rows: bool) -> int:
    """The floor: count the live profiles and the window's events of the names the segment
    reads; with ``read_rows``, also read every such event's body (what any evaluation that
    filters on event properties must at least do), else from the indexes only."""
    names = sorted({n.event for n in seg.walk(segment.condition)
                    if isinstance(n, seg.Performed | seg.NotPerformedSince)})  # fmt: skip
    return raw_limits.scan(store, names, NOW - segment.lookback, read_rows)


def batch(url: str, profiles: int, events: int, seed: int, echo: Echo) -> dict[str, Any]:
    echo(f"  {profiles:,} profiles and {events:,} events ...")
    filled = fill(url, profiles, events, seed, echo)
    store = SqlStore(url)
    try:
        segments = store.segments
        segment = running_segment()
        index_s, _ = _best(lambda: raw_scan(store, segment, read_rows=False))
        raw_s, _ = _best(lambda: raw_scan(store, segment, read_rows=True))
        size_s, size = _best(lambda: segments.size(segment, NOW))
        members_s, members = _best(lambda: segments.members(segment, NOW), runs=1)
    finally:
        store.close()
    if not isinstance(members, list) or len(members) != size:
        raise RuntimeError("listing and counting members disagree")
    return {
        "profiles": profiles,
        "events": events,
        "fill_s": round(filled, 1),
        "segment": segment.id,
        "members": size,
        "evaluate_s": round(size_s, 3),
        "members_list_s": round(members_s, 3),
        "index_count_s": round(index_s, 3),
        "raw_scan_s": round(raw_s, 3),
        "ratio": round(size_s / raw_s, 2),
        "profiles_per_s": round(profiles / size_s),
    }


def pure_cost(samples: int = 2000, seed: int = 3) -> dict[str, Any]:
    """Microseconds to decide every shipped segment for one profile after one event."""
    library = tuple(segment_definitions.load(p) for p in segment_definitions.library())
    rng = random.Random(seed)  # noqa: S311 - synthetic data
    profile = Profile(profile_id="p1", traits={"city": "Berlin", "student": True})
    history = [
        seg.BehaviourEvent(
            "Product Viewed",
            NOW - dt.timedelta(hours=rng.randrange(24 * 7)),
            {"category": CATEGORIES[rng.randrange(3)], "price": 49.0},
        )
        for _ in range(20)
    ]
    history.sort(key=lambda e: e.timestamp)
    started, cpu = time.perf_counter(), time.process_time()
    for i in range(samples):
        membership.react(library, profile, frozenset(), history, NOW + dt.timedelta(seconds=i),
                         cause=f"m{i}")  # fmt: skip
    per_event = (time.perf_counter() - started) / samples
    cpu = (time.process_time() - cpu) / samples
    indexed, indexed_cpu = indexed_cost(library, profile, history, samples)
    return {"segments": len(library), "history_events": len(history),
            "pure_us_per_event": round(per_event * 1e6, 1),
            "pure_cpu_us_per_event": round(cpu * 1e6, 1),
            "pure_indexed_us_per_event": round(indexed * 1e6, 1),
            "pure_indexed_cpu_us_per_event": round(indexed_cpu * 1e6, 1)}  # fmt: skip


def indexed_cost(
    library: tuple[seg.Segment, ...],
    profile: Profile,
    history: list[seg.BehaviourEvent],
    samples: int,
) -> tuple[float, float]:
    """Seconds (wall, CPU) per event of the engine's path: a product view of a profile
    evaluated since the segments took effect, so only the segments the view can move are
    evaluated, with the history's behaviour leaves matched once (as the engine keeps them
    over a commit)."""
    before = msgspec.structs.replace(profile, last_seen=NOW - dt.timedelta(hours=1))
    ctx = membership.Context(
        library, {"p1": frozenset()}, {"p1": history}, {},
        scheduled={}, active_since=NOW - dt.timedelta(days=30), memo=HitMemo(library),
        index=membership.index_of(library),
    )  # fmt: skip
    started, cpu = time.perf_counter(), time.process_time()
    for i in range(samples):
        now = NOW + dt.timedelta(seconds=i)
        view = Event(
            source="bench", message_id=f"v{i}", type="track", event="Product Viewed",
            timestamp=now, received_at=now, profile_id="p1",
            properties={"category": CATEGORIES[i % 3], "price": 49.0},
        )  # fmt: skip
        after = msgspec.structs.replace(before, last_seen=now)
        membership.on_event(ctx, before, after, (), new=(view,), cause=view)
    return (time.perf_counter() - started) / samples, (time.process_time() - cpu) / samples


def engine_cost(events: int, echo: Echo, rounds: int = 3) -> dict[str, Any]:
    """The engine's time per event with the shipped segments active, and without (wall
    time, and the process's CPU time: the engine's writer thread is the one working), in
    ``rounds`` alternating pairs, each on a fresh store; the figures are the medians of the
    rounds (the extra per round is with minus without of the same round: on a shared
    machine one pair can differ by more than the segments cost)."""
    runs: list[dict[str, tuple[float, float]]] = []
    for r in range(rounds):
        found: dict[str, tuple[float, float]] = {}
        for label, apply in (("without", False), ("with", True)):
            found[label] = _engine_run(events, apply)
        runs.append(found)
        (w0, c0), (w1, c1) = found["without"], found["with"]
        echo(f"  round {r + 1}: engine without segments {w0 * 1e6:,.0f} us/event (CPU "
             f"{c0 * 1e6:,.0f}), with {w1 * 1e6:,.0f} (CPU {c1 * 1e6:,.0f}): CPU "
             f"+{(c1 - c0) * 1e6:,.1f} us/event")  # fmt: skip

    def median(values: list[float]) -> float:
        return round(statistics.median(values) * 1e6, 1)

    def each(label: str, kind: int) -> list[float]:
        return [run[label][kind] for run in runs]

    def extra(kind: int) -> list[float]:
        return [run["with"][kind] - run["without"][kind] for run in runs]

    return {
        "engine_events": events,
        "engine_rounds": rounds,
        "engine_us_per_event_without": median(each("without", 0)),
        "engine_us_per_event_with": median(each("with", 0)),
        "segments_us_per_event": median(extra(0)),
        "engine_cpu_us_per_event_without": median(each("without", 1)),
        "engine_cpu_us_per_event_with": median(each("with", 1)),
        "segments_cpu_us_per_event": median(extra(1)),
        "segments_cpu_us_per_event_rounds": [round(x * 1e6, 1) for x in extra(1)],
    }


def _engine_run(events: int, apply: bool) -> tuple[float, float]:
    """Seconds (wall, CPU) per event of the engine over ``events`` product views, with the
    shipped segments applied or not, on a fresh SQLite store."""
    with tempfile.TemporaryDirectory(prefix="juncture-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'engine.db'}"
        clock = ManualClock(NOW - dt.timedelta(days=1))
        juncture = wiring.build(Settings(database_url=url, sqlite_synchronous="NORMAL"), clock)
        try:
            if apply:
                ops = Segments(juncture.store.segments)
                for path in segment_definitions.library():
                    ops.apply(path.read_text(encoding="utf-8"), str(path), clock.now())
            heap.settle()  # as juncture serve does once it is built
            return _drive(juncture, clock, events)
        finally:
            juncture.close()


def _drive(juncture: wiring.Juncture, clock: ManualClock, events: int) -> tuple[float, float]:
    rng = random.Random(11)  # noqa: S311 - synthetic data
    start = clock.now()
    batches: list[list[dict[str, Any]]] = []
    for b in range(events // 500):
        batch_ = []
        for i in range(500):
            at = start + dt.timedelta(seconds=b * 500 + i)
            batch_.append({
                "type": "track", "event": "Product Viewed", "userId": f"u{rng.randrange(2000)}",
                "messageId": f"m{b}-{i}", "timestamp": at.isoformat(),
                "properties": {"product_id": f"P{i % 50}",
                               "category": CATEGORIES[rng.randrange(len(CATEGORIES))],
                               "price": 49.0},
            })  # fmt: skip
        batches.append(batch_)
    started, cpu = time.perf_counter(), time.process_time()
    for batch_ in batches:
        clock.set(dt.datetime.fromisoformat(str(batch_[-1]["timestamp"])))
        envelope = messages.Envelope(
            messages=[msgspec.Raw(orjson.dumps(m)) for m in batch_], single=False
        )
        juncture.ingestor.ingest_sync(envelope, "bench")
    n = len(batches) * 500
    return (time.perf_counter() - started) / n, (time.process_time() - cpu) / n


def run(*, profiles: int, events: int, postgres_url: str | None, seed: int,
        engine_events: int, echo: Echo) -> dict[str, Any]:  # fmt: skip
    results: dict[str, Any] = {}
    echo("[sqlite] batch evaluation")
    with tempfile.TemporaryDirectory(prefix="juncture-bench-") as tmp:
        results["sqlite"] = batch(f"sqlite:///{Path(tmp) / 'seg.db'}", profiles, events, seed, echo)
    _show("sqlite", results["sqlite"], echo)
    if postgres_url:
        echo("[postgres] batch evaluation")
        with scratch.postgres(postgres_url, "segments") as url:
            results["postgres"] = batch(url, profiles, events, seed, echo)
        _show("postgres", results["postgres"], echo)
    echo("[incremental] per event")
    results["incremental"] = {**pure_cost(), **engine_cost(engine_events, echo)}
    inc = results["incremental"]
    without, with_ = inc["engine_us_per_event_without"], inc["engine_us_per_event_with"]
    echo(f"[incremental] pure: {inc['pure_us_per_event']} us to decide {inc['segments']} "
         f"segments for one event, {inc['pure_indexed_us_per_event']} us for those a product "
         f"view can move | engine: +{inc['segments_us_per_event']} us/event "
         f"({without} -> {with_})")  # fmt: skip
    echo(f"[incremental] CPU: pure {inc['pure_cpu_us_per_event']} us, through the index "
         f"{inc['pure_indexed_cpu_us_per_event']} us | engine: "
         f"+{inc['segments_cpu_us_per_event']} us/event ({inc['engine_cpu_us_per_event_without']}"
         f" -> {inc['engine_cpu_us_per_event_with']}; medians of {inc['engine_rounds']} rounds, "
         f"each round's extra: {inc['segments_cpu_us_per_event_rounds']})")  # fmt: skip
    return results


def _show(kind: str, r: dict[str, Any], echo: Echo) -> None:
    echo(f"[{kind}] {r['segment']}: {r['members']:,} of {r['profiles']:,} profiles "
         f"({r['events']:,} events) in {r['evaluate_s']:.2f} s ({r['profiles_per_s']:,} "
         f"profiles/s) | raw scan of the rows {r['raw_scan_s']:.2f} s (index-only count "
         f"{r['index_count_s']:.2f} s) | ratio {r['ratio']:.1f} | "
         f"listing members {r['members_list_s']:.2f} s | fill {r['fill_s']:.0f} s")  # fmt: skip
