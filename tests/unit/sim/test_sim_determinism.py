from __future__ import annotations

import datetime as dt

import pytest

from juncture.sim import SimConfig, Simulation

START = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)


def _run(seed: int, step_hours: float | None = None) -> list[dict[str, object]]:
    sim = Simulation(SimConfig(seed=seed, customers=150, days=5, start=START))
    if step_hours is None:
        return sim.advance(sim.end)
    step = dt.timedelta(hours=step_hours)
    return [m for batch in sim.iter_batches(step) for m in batch]


def test_same_seed_same_messages() -> None:
    assert _run(4) == _run(4)


def test_different_seed_different_messages() -> None:
    assert _run(4) != _run(5)


def test_stepping_does_not_change_the_stream() -> None:
    assert _run(4, step_hours=7) == _run(4)


def test_advance_returns_only_messages_due() -> None:
    sim = Simulation(SimConfig(seed=2, customers=100, days=3, start=START))
    noon = START + dt.timedelta(hours=36)
    first = sim.advance(noon)
    assert sim.now == noon
    assert all(m["timestamp"] <= "2026-03-03T12:00:00.000Z" for m in first)
    rest = sim.advance(sim.end + dt.timedelta(days=1))
    assert all(m["timestamp"] > "2026-03-03T12:00:00.000Z" for m in rest)
    assert sim.done
    assert sim.advance(sim.end + dt.timedelta(days=2)) == []


def test_naive_start_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        Simulation(SimConfig(start=dt.datetime(2026, 3, 2)))  # noqa: DTZ001
