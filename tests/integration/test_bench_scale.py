"""``juncture bench scale`` on a small run: appends to each log, two workers applying every
event exactly once into a scratch PostgreSQL database while shoppers sign in and merge
across partitions, each person on one profile counting exactly their events, and the
figures it reports (a merge's cost against a view's among them)."""

from __future__ import annotations

import os

import pytest

from juncture.bench import scale
from tests.distributed import NATS_URL

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.nats]
POSTGRES_URL = os.environ.get("JUNCTURE_TEST_POSTGRES_URL")


def test_bench_scale_reports_each_run_with_every_event_stored_and_every_merge_right() -> None:
    if POSTGRES_URL is None or NATS_URL is None:
        pytest.skip("JUNCTURE_TEST_POSTGRES_URL and JUNCTURE_TEST_NATS_URL are needed")
    lines: list[str] = []
    results = scale.run(
        events=800,
        postgres_url=POSTGRES_URL,
        log_url=NATS_URL,
        compare=[NATS_URL],
        workers=[2],
        partitions=4,
        echo=lines.append,
        identify_share=0.1,
    )
    assert results["appends"]["nats"]["events_per_s"] > 0
    (run,) = results["workers"]
    views, merges = run["views_alone"], run["merges_alone"]
    assert run["events"] == 800 and views["events"] == merges["events"] > 10
    assert run["stored"] == run["appended"] == 800 + 2 * merges["events"]  # once, none lost
    assert run["people_wrong"] == 0 and run["wrong"] == []  # every profile's counts exact
    assert results["failures"] == []  # so the command exits 0
    assert 50 < run["identifies"] < 110 and run["merges"] >= 0
    assert merges["merges"] == merges["events"]  # each sign-in of that phase merged two
    assert 0 < merges["crossing"] <= merges["events"]  # most across partitions
    assert run["events_per_s"] > 0 and run["ratio"] == pytest.approx(1 / 2)  # over 2 x itself
    assert run["workers_cpu_us_per_event"] > 0 and run["postgres_cpu_us_per_event"] > 0
    for found in (run, views, merges):  # (a short phase's part can be under a clock tick)
        parts = found["workers_cpu_us_per_event"] + found["postgres_cpu_us_per_event"]
        assert found["cpu_us_per_event"] >= parts  # the log's and the bench's are in it too
    for found in (views, merges):  # also net of what idle workers spend (polling the log)
        assert 0 <= found["net_cpu_us_per_event"] <= found["cpu_us_per_event"] > 0
    assert run["idle_cores"]["workers"] > 0
    assert run["run_cores_busy"] > 0 and run["ceiling_events_per_s"] > 0
    assert run["lag_p99_s"] >= run["lag_p50_s"] >= 0
    assert any("2 worker(s)" in line and "PostgreSQL" in line for line in lines)
    assert any("identity:" in line and "CPU per merge" in line for line in lines)
