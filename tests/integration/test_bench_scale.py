"""``juncture bench scale`` on a small run: appends to each log, one worker applying every
event exactly once into a scratch PostgreSQL database, and the figures it reports."""

from __future__ import annotations

import os

import pytest

from juncture.bench import scale
from tests.distributed import NATS_URL

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.nats]
POSTGRES_URL = os.environ.get("JUNCTURE_TEST_POSTGRES_URL")


def test_bench_scale_reports_each_run_with_every_event_stored() -> None:
    if POSTGRES_URL is None or NATS_URL is None:
        pytest.skip("JUNCTURE_TEST_POSTGRES_URL and JUNCTURE_TEST_NATS_URL are needed")
    lines: list[str] = []
    results = scale.run(
        events=600,
        postgres_url=POSTGRES_URL,
        log_url=NATS_URL,
        compare=[NATS_URL],
        workers=[1],
        partitions=4,
        echo=lines.append,
    )
    assert results["appends"]["nats"]["events_per_s"] > 0
    (run,) = results["workers"]
    assert run["stored"] == run["events"] == 600  # each event applied once, none lost
    assert run["events_per_s"] > 0 and run["ratio"] == 1.0
    assert run["workers_cpu_us_per_event"] > 0 and run["postgres_cpu_us_per_event"] > 0
    parts = run["workers_cpu_us_per_event"] + run["postgres_cpu_us_per_event"]
    assert run["cpu_us_per_event"] >= parts  # the log's and the bench's are in it too
    assert run["run_cores_busy"] > 0 and run["ceiling_events_per_s"] > 0
    assert run["lag_p99_s"] >= run["lag_p50_s"] >= 0
    assert any("1 worker(s)" in line and "PostgreSQL" in line for line in lines)
