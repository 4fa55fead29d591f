from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from juncture.sim import SimConfig, Simulation

START = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)


@pytest.fixture(scope="module")
def small_run() -> tuple[Simulation, list[dict[str, Any]]]:
    sim = Simulation(SimConfig(seed=11, customers=400, days=10, start=START))
    messages = [m for batch in sim.iter_batches(dt.timedelta(hours=6)) for m in batch]
    return sim, messages
