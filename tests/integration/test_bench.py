"""The sub-benchmarks run, bounded, and report figure, raw limit and ratio."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
from typer.testing import CliRunner

from juncture.bench import breakdown, catalog, decide, engine, engine_cost, journeys
from juncture.bench.ingest import default_shoppers, make_batches
from juncture.cli.main import app
from juncture.definitions import segments as segment_definitions
from juncture.library import ROOT as LIBRARY
from juncture.sim import SEND_STEP
from tests.conftest import NO_POSTGRES, POSTGRES_URL

INGEST_EVENTS = 300  # three batches of 100


def test_bench_engine_reports_both_rates_against_raw() -> None:
    lines: list[str] = []
    result = engine.run_engine(events=1000, commit_events=500, echo=lines.append)
    assert result["events"] == 1000
    assert result["engine_errors"] == 0
    for key in ("engine_events_per_s", "ingest_only_events_per_s", "raw_rows_per_s"):
        assert result[key] > 0
    assert result["ratio"] == result["engine_events_per_s"] / result["raw_rows_per_s"]
    assert "ratio" in lines[-1]


def test_bench_engine_with_few_shoppers_gives_them_long_histories() -> None:
    bodies = [orjson.loads(b)["batch"] for b in make_batches(1000, shoppers=4)]
    visitors = Counter(m["anonymousId"] for batch in bodies for m in batch)
    assert len(visitors) == 4 and sum(visitors.values()) == 1000
    assert make_batches(1000) == make_batches(1000, shoppers=default_shoppers(1000))
    lines: list[str] = []
    result = engine.run_engine(events=400, commit_events=100, shoppers=4, echo=lines.append)
    assert (result["shoppers"], result["engine_errors"]) == (4, 0)
    assert "from 4 shoppers" in lines[0]


def test_bench_engine_breakdown_times_the_writers_statements() -> None:
    lines: list[str] = []
    result = engine.run_engine(events=400, commit_events=100, breakdown=True, echo=lines.append)
    spent = result["us_per_event"]
    for kind in ("commit", "insert events", "upsert profiles", "upsert product views"):
        assert any(k.startswith(kind) and us > 0 for k, us in spent.items()), (kind, spent)
    assert spent[breakdown.PYTHON] > 0
    assert any("where an event's time goes" in line for line in lines)


def test_bench_engine_cost_splits_the_engines_cpu_into_sql_and_python() -> None:
    """The simulated retailer's log applied behind ingestion, the second half measured:
    every client event of it applied once, the process's CPU split into the driver's calls
    (by statement) and the rest, with the shipped journeys, and the shipped segments too.
    Each event is received minutes after it happened, as in a live shop, so the measured
    half enrolls shoppers, fires their timers and writes the outbox."""
    lines: list[str] = []
    result = engine_cost.run_cost(customers=40, days=4, echo=lines.append)
    events = result["events"]
    assert events > 200
    lags = {e.received_at - e.timestamp for e in engine_cost.simulated(40, 4)}
    assert dt.timedelta(0) <= min(lags) and max(lags) <= SEND_STEP
    for label in ("journeys", "journeys_and_segments"):
        found = result[label]
        assert found["journeys"] == len(list(LIBRARY.glob("journeys/*.yaml")))
        assert found["errors"] == 0
        assert found["applied"] == events - events // 2
        assert found["derived_per_event"] > 0
        assert found["enrollments"] > 0, "the measured half enrolled nobody"
        assert found["timers_fired"] > 0 and found["outbox_rows"] > 0, found
        by_statement = found["sql_us_by_statement"]
        assert {"COMMIT", "SELECT", "INSERT events", "UPDATE events"} <= set(by_statement)
        rounded = 0.05 * len(by_statement)  # each kind rounded to 0.1 us
        assert found["sql_cpu_us_per_event"] == pytest.approx(
            sum(by_statement.values()), abs=rounded
        )
        assert found["cpu_us_per_event"] == pytest.approx(
            found["sql_cpu_us_per_event"] + found["python_cpu_us_per_event"]
        )
        assert found["python_cpu_us_per_event"] > 0
        applied = found["applied"]  # each figure below in us, over all the measured units
        held, longest = found["lock_us_per_event"] * applied, found["lock_max_ms"] * 1e3
        assert 0 < longest <= held * (1 + 1e-9)  # one unit: the same time, rounded apart
        assert held <= found["wall_us_per_event"] * applied
    assert result["journeys"]["segments"] == 0
    assert result["journeys_and_segments"]["segments"] == len(segment_definitions.library())
    assert "SQL by statement" in lines[-1] and "shipped segments" in lines[-1]
    assert "enrollments" in lines[-1] and "outbox rows" in lines[-1]


def test_bench_timers_fires_every_timer() -> None:
    lines: list[str] = []
    result = engine.run_timers(timers=300, max_seconds=30, echo=lines.append)
    assert result["fired"] == 300
    assert result["timers_per_s"] > 0
    assert result["raw_timers_per_s"] > 0
    assert "ratio" in lines[-1]


def test_bench_catalog_imports_the_feed_against_the_raw_insert() -> None:
    lines: list[str] = []
    result = catalog.run(products=300, echo=lines.append)
    assert result["import_per_s"] > 0 and result["raw_insert_per_s"] > 0
    assert result["ratio"] == result["import_per_s"] / result["raw_insert_per_s"]
    assert "ratio" in lines[-1]


def test_bench_catalog_imports_while_events_flow_into_a_server() -> None:
    lines: list[str] = []
    result = catalog.run(products=2000, echo=lines.append, event_rate=200)
    flow = result["while_events_flow"]
    quiet, busy = flow["quiet"], flow["during_import"]
    assert set(quiet["statuses"]) == set(busy["statuses"]) == {"200"}  # every batch taken
    assert quiet["batches"] == 20 and busy["batches"] >= 1
    assert busy["p99_ms"] >= busy["p50_ms"] > 0
    assert flow["import_per_s"] > 0
    # the load lasts as long as the import, however slow the machine makes it, and stops then
    assert flow["load_covered_import"]
    assert busy["seconds"] <= flow["import_seconds"] + 5
    assert any("during the import" in line for line in lines)


def test_bench_decide_answers_every_decision_against_the_http_floor() -> None:
    lines: list[str] = []
    result = decide.run(
        visitors=20, requests=100, concurrency=4, rate=200, products=40, echo=lines.append
    )
    assert result["decide"]["statuses"] == {"200": 100}
    assert result["paced"]["statuses"] == {"200": 100}
    assert set(result["placements"]) >= {"home", "wishlist", "gift", "presence", "event"}
    assert result["healthz_floor"]["statuses"] == {"200": 100}
    assert result["healthz_paced"]["statuses"] == {"200": 100}  # the floor at the same pace
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


def bench_ingest(tmp_path: Path, *flags: str) -> tuple[dict[str, Any], str]:
    """``juncture bench ingest`` through the CLI entry point, small: its JSON and output."""
    written = tmp_path / "bench-ingest.json"
    result = CliRunner().invoke(
        app,
        ["bench", "ingest", "--events", str(INGEST_EVENTS), "--concurrency", "2",
         "--json-out", str(written), *flags],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "written to" in result.output  # rich may wrap the path that follows
    return json.loads(written.read_text()), result.output


def check_mode(store: dict[str, Any], mode: str) -> dict[str, Any]:
    """Figure, raw limit and ratio are there, and every acknowledged event is stored once."""
    figures: dict[str, Any] = store[mode]
    assert figures["statuses"] == {"200": INGEST_EVENTS // 100}
    assert figures["acknowledged_events"] == figures["stored_events"] == INGEST_EVENTS
    assert figures["all_acknowledged_stored_once"] is True
    assert figures["events_per_s"] > 0
    assert figures["raw_rows_per_s"] == store["raw_rows_per_s"] > 0
    assert figures["ratio"] == figures["events_per_s"] / figures["raw_rows_per_s"]
    assert 0 < figures["p50_ms"] <= figures["p99_ms"]
    # a commit carries whole requests of 100 events (and the events they derive)
    assert 1 <= figures["commits"] <= INGEST_EVENTS // 100
    stored = INGEST_EVENTS + figures["derived_events"]
    assert figures["commits"] * figures["events_per_commit"] == pytest.approx(stored)
    return figures


@pytest.mark.slow
def test_bench_ingest_reports_both_modes_against_raw_inserts(tmp_path: Path) -> None:
    result, output = bench_ingest(tmp_path)
    assert (result["events"], result["batch"], result["concurrency"]) == (INGEST_EVENTS, 100, 2)
    assert result["cores"] >= 1
    assert "postgres" not in result
    check_mode(result["sqlite"], "engine")
    assert check_mode(result["sqlite"], "ingest_only")["derived_events"] == 0
    check_behind(result["sqlite"]["engine_behind"])
    assert output.count("ratio") == 3
    assert "of ingest only" in output


def check_behind(figures: dict[str, Any]) -> None:
    """The engine behind the log: ingestion's commits carry only what clients sent; the
    engine applied every acknowledged event (the load's and the steady phase's), and its
    rate, CPU and lag under a steady load are reported."""
    assert figures["statuses"] == {"200": INGEST_EVENTS // 100}
    steady = figures["steady_acknowledged_events"]
    assert steady > 0
    assert figures["stored_events"] == INGEST_EVENTS + steady
    assert figures["all_acknowledged_stored_once"] is True
    assert figures["unapplied_events"] == 0
    assert figures["commits"] * figures["events_per_commit"] == pytest.approx(INGEST_EVENTS)
    assert figures["engine_events_per_s"] > 0 and figures["engine_cpu_us_per_event"] > 0
    assert 0 <= figures["lag_p50_s"] <= figures["lag_p99_s"]
    # Sampled every 0.1 s of the 10 s steady phase; a loaded machine (the suite on every core)
    # delays the sampler: 42 were taken in one full run.
    assert figures["lag_samples"] >= 25


@pytest.mark.slow
@pytest.mark.postgres
def test_bench_ingest_on_postgres_too(tmp_path: Path) -> None:
    if POSTGRES_URL is None:
        pytest.skip(NO_POSTGRES)
    result, _ = bench_ingest(tmp_path, "--no-engine", "--postgres-url", POSTGRES_URL)
    for kind in ("sqlite", "postgres"):
        check_mode(result[kind], "ingest_only")
        assert "engine" not in result[kind]


def test_bench_segments_cli_reports_batch_raw_scan_and_per_event_costs(tmp_path: Path) -> None:
    out = tmp_path / "bench-segments.json"
    pg = ["--database-url", POSTGRES_URL] if POSTGRES_URL else []
    args = ["bench", "segments", "--profiles", "2000", "--events", "6000"]
    done = CliRunner().invoke(app, [*args, "--engine-events", "500", *pg, "--json-out", str(out)])
    assert done.exit_code == 0, done.output
    result = json.loads(out.read_text())
    for kind in ("sqlite", "postgres") if POSTGRES_URL else ("sqlite",):
        batch = result[kind]
        assert batch["profiles"] == 2000
        assert batch["events"] == 6000
        assert 0 < batch["members"] < 2000  # the running-shoes segment picks some
        assert batch["evaluate_s"] > 0
        assert batch["raw_scan_s"] > 0
        assert batch["ratio"] > 0
        line = next(x for x in done.output.splitlines() if x.startswith(f"[{kind}] running"))
        assert f"in {batch['evaluate_s']:.2f} s" in line
        assert f"raw scan of the rows {batch['raw_scan_s']:.2f} s" in line
        assert f"ratio {batch['ratio']:.1f}" in line
    inc = result["incremental"]
    assert inc["segments"] == len(segment_definitions.library())
    assert inc["pure_us_per_event"] > 0
    assert inc["engine_events"] == 500
    assert inc["engine_us_per_event_with"] > 0
    assert inc["engine_us_per_event_without"] > 0
    assert inc["engine_cpu_us_per_event_with"] > 0
    assert inc["engine_rounds"] == 3 == len(inc["segments_cpu_us_per_event_rounds"])
    assert inc["segments_cpu_us_per_event"] in inc["segments_cpu_us_per_event_rounds"]
    assert inc["pure_indexed_cpu_us_per_event"] > 0
    assert "[incremental] pure:" in done.output
    assert "[incremental] CPU: pure" in done.output
    assert f"written to {out}" in done.output.replace("\n", "")
