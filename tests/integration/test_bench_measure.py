"""``juncture bench measure`` times every KPI report, the funnel and the paths over a
database against a raw scan, and refuses a demo database that is not there."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from juncture.cli.main import app
from juncture.core.measures import KpiReport
from juncture.store.sql import SqlStore
from tests.contract import kpi_rows


def test_every_report_is_timed_against_a_raw_scan(sqlite_url: str, tmp_path: Path) -> None:
    store = SqlStore(sqlite_url)
    kpi_rows.write(store.engine)
    kpi_rows.write_journey(store.engine)
    store.close()
    out = tmp_path / "bench.json"
    found = CliRunner().invoke(app, ["bench", "measure", "--database-url", sqlite_url,
                                     "--repeats", "1", "--json-out", str(out)])  # fmt: skip
    assert found.exit_code == 0, found.output
    result = json.loads(out.read_text())
    assert set(result["seconds"]) == {f"kpis {r.value}" for r in KpiReport} | {
        "funnel", "paths", "touchpoints",
    }  # fmt: skip
    assert result["events"] == len(kpi_rows.rows()) + len(kpi_rows.ANSWERS)
    assert result["raw_scan_seconds"] > 0
    assert result["ratio"] == result["total_seconds"] / result["raw_scan_seconds"]
    assert "raw scans" in found.output


def test_a_missing_demo_database_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "nothing.db"
    found = CliRunner().invoke(app, ["bench", "measure", "--database-url", f"sqlite:///{missing}"])
    assert found.exit_code == 2 and "juncture demo" in found.output
    assert not missing.exists()
