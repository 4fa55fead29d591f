"""On the simulator's data, the members the engine keeps in real time (each event evaluating
only the segments it can move) equal the batch evaluation of every shipped segment at the
end of the run, and again after months with no event at all, when only timers moved them
(windows slid, customers lapsed), on every database."""

from __future__ import annotations

import datetime as dt

from juncture.definitions import segments as segment_definitions
from juncture.demo import harness
from juncture.runtime.segments import Segments
from juncture.store import tallies
from tests.conftest import settings_for

CUSTOMERS, DAYS = 250, 4
QUIET = (dt.timedelta(days=40), dt.timedelta(days=100))  # no events: timers alone move them


def test_realtime_membership_equals_batch_on_the_simulators_data(database_url: str) -> None:
    juncture, clock = harness.build(settings_for(database_url, sqlite_synchronous="NORMAL"))
    try:
        ops = Segments(juncture.store.segments, juncture.segment_mover())
        library = [segment_definitions.load(p) for p in segment_definitions.library()]
        for path in segment_definitions.library():
            ops.apply(path.read_text(encoding="utf-8"), str(path), clock.now())
        harness.run(juncture, clock, seed=5, customers=CUSTOMERS, days=DAYS)
        end = clock.now()
        seen: list[dict[str, int]] = []
        for quiet in (dt.timedelta(0), *QUIET):
            clock.set(end + quiet)
            for _ in range(50):  # the windows that slid by then, by their timers
                juncture.tick_sync()
                if not tallies.timers_due(juncture.store, clock.now()):
                    break
            sizes = {}
            for segment in library:
                batch = ops.store.members(segment, clock.now())
                realtime = [p for p, _ in ops.store.stored_members(segment.id, limit=10**6)]
                assert realtime == batch, (quiet, segment.id, set(realtime) ^ set(batch))
                sizes[segment.id] = len(batch)
            seen.append(sizes)
    finally:
        juncture.close()
    # the comparison means something only if the simulation filled some segments, and the
    # quiet months moved some by time alone: customers lapsed, shoppers left "active"
    assert sum(1 for n in seen[0].values() if n) >= 3, seen[0]
    assert seen[-1]["lapsed_90d"] > seen[0]["lapsed_90d"], seen
    assert seen[-1]["dach-active"] < seen[0]["dach-active"], seen
