"""On the simulator's data, the members the engine keeps in real time equal the batch
evaluation of every shipped segment at the end of the run (issue 6), on every database."""

from __future__ import annotations

from juncture.definitions import segments as segment_definitions
from juncture.demo import harness
from juncture.runtime.segments import Segments
from tests.conftest import settings_for

CUSTOMERS, DAYS = 250, 4


def test_realtime_membership_equals_batch_on_the_simulators_data(database_url: str) -> None:
    juncture, clock = harness.build(settings_for(database_url, sqlite_synchronous="NORMAL"))
    try:
        ops = Segments(juncture.store.segments, juncture.segment_mover())
        library = segment_definitions.library()
        for path in library:
            ops.apply(path.read_text(encoding="utf-8"), str(path), clock.now())
        harness.run(juncture, clock, seed=5, customers=CUSTOMERS, days=DAYS)
        juncture.committer.tick_sync()  # the windows that slid by the end, by their timers
        end = clock.now()
        sizes = {}
        for path in library:
            segment = segment_definitions.load(path)
            batch = ops.store.members(segment, end)
            realtime = [p for p, _ in ops.store.stored_members(segment.id, limit=10**6)]
            assert realtime == batch, (segment.id, set(realtime) ^ set(batch))
            sizes[segment.id] = len(batch)
    finally:
        juncture.close()
    # the comparison means something only if the simulation filled some segments
    assert sum(1 for n in sizes.values() if n) >= 3, sizes
