"""The dashboard's slow reads kept in the database, on every store: one process at a time
claims a report, the others (two server processes here: two ``Reports`` over one store)
wait for its result instead of computing it again, and a process that starts later answers
from the stored result at once."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from juncture.runtime.reports import Reports
from juncture.store.report_results import key_of
from juncture.store.sql import SqlStore

T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
LATER = T0 + dt.timedelta(minutes=30)
KEY = ("funnels", "day", ("Product Viewed", "Order Completed"), "Product Viewed", None)


def eventually(read: Callable[[], Any], seconds: float = 10) -> Any:
    deadline = time.monotonic() + seconds
    while (found := read()) is None:
        assert time.monotonic() < deadline, "no result in time"
        time.sleep(0.02)
    return found


def test_one_claim_at_a_time_until_it_is_saved_released_or_runs_out(store: SqlStore) -> None:
    results, row = store.report_results, key_of("funnels", "[1]")
    assert results.claim(row, "funnels", "[1]", "a", now=T0, until=LATER)
    assert not results.claim(row, "funnels", "[1]", "b", now=T0, until=LATER)
    assert results.last(row) is None  # claimed, nothing computed yet
    results.save(row, "a", '{"n": 1}', T0, 2.5)
    stored = results.last(row)
    assert stored is not None
    assert (stored.value, stored.computed_at, stored.took_s) == ('{"n": 1}', T0, 2.5)
    assert results.claim(row, "funnels", "[1]", "b", now=T0, until=LATER)  # saved: free
    results.release(row, "a")  # not a's any more: b keeps it
    assert not results.claim(row, "funnels", "[1]", "c", now=T0, until=LATER)
    results.release(row, "b")
    assert results.claim(row, "funnels", "[1]", "c", now=T0, until=LATER)
    assert results.claim(row, "funnels", "[1]", "d", now=LATER, until=LATER)  # ran out


def test_a_second_process_waits_for_the_first_s_result(store: SqlStore) -> None:
    first = Reports(store.report_results, fresh=60, wait=0.05)
    second = Reports(store.report_results, fresh=60, wait=0.05)
    gate, calls = threading.Event(), []

    def slow() -> dict[str, Any]:
        calls.append("first")
        gate.wait(10)
        return {"computed_at": T0, "steps": [3, 2]}

    def again() -> dict[str, Any]:
        calls.append("second")
        return {"steps": [0]}

    assert first.get(KEY, slow) is None  # being computed
    eventually(lambda: calls or None)  # the first holds the claim
    assert second.get(KEY, again) is None  # claimed by the first: the second waits for it
    gate.set()
    found = eventually(lambda: second.get(KEY, again))
    assert found.value == {"computed_at": "2026-12-01T09:00:00+00:00", "steps": [3, 2]}
    assert calls == ["first"]  # computed once for both
    assert eventually(lambda: first.get(KEY, again)).value == found.value


def test_a_process_that_starts_later_answers_the_stored_result(store: SqlStore) -> None:
    Reports(store.report_results, fresh=60, wait=5).get(KEY, lambda: [["decision", 4]])
    restarted = Reports(store.report_results, fresh=60, wait=5)
    found = restarted.get(KEY, lambda: pytest.fail("computed again"))
    assert found is not None and found.value == [["decision", 4]]
    assert found.took_s >= 0 and found.age_s() < 60


def test_a_failed_computation_frees_the_report_for_the_next(store: SqlStore) -> None:
    first = Reports(store.report_results, fresh=60, wait=5)

    def broken() -> str:
        raise ValueError("no such step")

    with pytest.raises(ValueError, match="no such step"):
        first.get(KEY, broken)
    second = Reports(store.report_results, fresh=60, wait=5)
    assert second.get(KEY, lambda: "fixed").value == "fixed"  # type: ignore[union-attr]
