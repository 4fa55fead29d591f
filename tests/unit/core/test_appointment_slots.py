"""Free appointment slots on a store's clock: counted in elapsed time across a change of
the clocks, so a short night has fewer slots and a long one more, each an instant."""

from __future__ import annotations

import datetime as dt
import itertools
import zoneinfo

from juncture.core import engagement

NEW_YORK = zoneinfo.ZoneInfo("America/New_York")
LONG_AGO = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)


def test_the_night_the_clocks_go_forward_has_one_hour_less() -> None:
    found = engagement.free_slots(("00:00", "04:00"), dt.date(2026, 3, 8), [], LONG_AGO, NEW_YORK)
    assert len(found) == 6  # 00:00 EST to 04:00 EDT is three hours
    assert found[4].isoformat() == "2026-03-08T03:00:00-04:00"
    utc = [s.astimezone(dt.UTC) for s in found]  # one zone: Python subtracts wall times
    gaps = {(b - a).total_seconds() for a, b in itertools.pairwise(utc)}
    assert gaps == {1800.0}


def test_the_night_the_clocks_go_back_has_one_hour_more() -> None:
    found = engagement.free_slots(("00:00", "04:00"), dt.date(2026, 11, 1), [], LONG_AGO, NEW_YORK)
    assert len(found) == 10
    assert [s.utcoffset() for s in found[2:6]] == [dt.timedelta(hours=-4)] * 2 + [
        dt.timedelta(hours=-5)
    ] * 2


def test_a_taken_slot_is_matched_as_an_instant_whatever_its_zone() -> None:
    day = dt.date(2026, 11, 2)
    taken = [dt.datetime(2026, 11, 2, 14, 0, tzinfo=dt.UTC)]  # 09:00 in New York
    found = engagement.free_slots(("09:00", "10:00"), day, taken, LONG_AGO, NEW_YORK)
    assert [s.isoformat() for s in found] == ["2026-11-02T09:30:00-05:00"]
    start, end = engagement.local_day(day, NEW_YORK)
    assert (start.hour, (end - start).total_seconds()) == (5, 86400.0)
