"""The in-process sub-benchmarks run, bounded, and report figure, raw limit and ratio."""

from __future__ import annotations

from juncture.bench import decide, engine, journeys


def test_bench_engine_reports_both_rates_against_raw() -> None:
    lines: list[str] = []
    result = engine.run_engine(events=1000, commit_events=500, echo=lines.append)
    assert result["events"] == 1000
    assert result["engine_errors"] == 0
    for key in ("engine_events_per_s", "ingest_only_events_per_s", "raw_rows_per_s"):
        assert result[key] > 0
    assert result["ratio"] == result["engine_events_per_s"] / result["raw_rows_per_s"]
    assert "ratio" in lines[-1]


def test_bench_timers_fires_every_timer() -> None:
    lines: list[str] = []
    result = engine.run_timers(timers=300, max_seconds=30, echo=lines.append)
    assert result["fired"] == 300
    assert result["timers_per_s"] > 0
    assert result["raw_timers_per_s"] > 0
    assert "ratio" in lines[-1]


def test_bench_decide_answers_every_decision_against_the_http_floor() -> None:
    lines: list[str] = []
    result = decide.run(visitors=20, requests=100, concurrency=4, echo=lines.append)
    assert result["decide"]["statuses"] == {"200": 100}
    assert result["healthz_floor"]["statuses"] == {"200": 100}
    assert result["ratio"] == result["decide"]["per_s"] / result["healthz_floor"]["per_s"]
    assert "ratio" in lines[-1]


def test_bench_journeys_reports_latency_and_timers_against_the_raw_store() -> None:
    lines: list[str] = []
    result = journeys.run(
        events=60, rate=200, timers=200, max_seconds=20, postgres_url=None, echo=lines.append
    )["sqlite"]
    latency, fired = result["latency"], result["timers"]
    assert latency["stored"] == latency["outbox_rows"] == 60  # one confirmation per order
    assert 0 < latency["p50_ms"] <= latency["p99_ms"]
    assert 0 < latency["raw_p50_ms"] <= latency["raw_p99_ms"]
    assert latency["ratio_p50"] == round(latency["p50_ms"] / latency["raw_p50_ms"], 2)
    assert fired["timers"] == fired["fired"] == fired["tips_rows"] == 200
    assert fired["timers_per_s"] > 0
    assert fired["raw_timers_per_s"] > 0
    assert "ratio" in lines[1]
    assert "ratio" in lines[-1]
