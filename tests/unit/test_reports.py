"""Slow reads answered from their last result: computed once per key however many ask,
waited for a moment, answered stale (and refreshed) once old, errors raised to the asker."""

from __future__ import annotations

import threading
import time

import pytest

from juncture.runtime.reports import Reports


def test_a_quick_result_is_waited_for_and_then_kept() -> None:
    reports, calls = Reports(fresh=60, wait=5), []

    def count() -> int:
        calls.append(1)
        return len(calls)

    first, again = reports.get("k", count), reports.get("k", count)
    assert first is not None and again is not None
    assert (first.value, again.value, len(calls)) == (1, 1, 1)
    assert first.refreshing is False
    assert reports.get("other", lambda: "b").value == "b"  # type: ignore[union-attr]


def test_a_slow_result_is_computed_once_in_the_background() -> None:
    reports, gate, calls = Reports(fresh=60, wait=0.05), threading.Event(), []

    def slow() -> str:
        calls.append(1)
        gate.wait(10)
        return "done"

    assert reports.get("k", slow) is None  # not ready: the page says it is being computed
    assert reports.get("k", slow) is None  # asked again: still the one computation
    gate.set()
    deadline = time.monotonic() + 10
    while (found := reports.get("k", slow)) is None and time.monotonic() < deadline:
        time.sleep(0.02)
    assert found is not None and found.value == "done"
    assert len(calls) == 1


def test_an_old_result_is_answered_while_a_new_one_is_computed() -> None:
    reports, gate = Reports(fresh=0, wait=5), threading.Event()
    reports.get("k", lambda: "old")
    started = time.monotonic()
    stale = reports.get("k", lambda: gate.wait(10) and "new")
    assert time.monotonic() - started < 1  # not waited for: the old one answers at once
    assert stale is not None
    assert (stale.value, stale.refreshing) == ("old", True)
    gate.set()
    deadline = time.monotonic() + 10
    while (found := reports.get("k", lambda: "newer")) is not None and found.value == "old":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    assert found is not None and found.value in {"new", "newer"}


def test_an_error_reaches_the_page_that_waited_and_is_not_kept() -> None:
    reports = Reports(fresh=60, wait=5)

    def broken() -> str:
        raise ValueError("no such step")

    with pytest.raises(ValueError, match="no such step"):
        reports.get("k", broken)
    assert reports.get("k", lambda: "fixed").value == "fixed"  # type: ignore[union-attr]
