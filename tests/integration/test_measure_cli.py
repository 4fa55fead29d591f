"""``juncture measure`` on a database with nothing to measure yet, and the experiment plan."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from juncture.analytics import planning
from juncture.cli.main import app

runner = CliRunner()


def test_an_empty_database_has_no_kpis_and_no_experiments(database_url: str) -> None:
    for command in ("journeys", "experiments"):
        found = runner.invoke(
            app, ["measure", command, "--format", "json", "--database-url", database_url]
        )
        assert found.exit_code == 0, found.output
        assert json.loads(found.stdout) == []
        as_csv = runner.invoke(
            app, ["measure", command, "--format", "csv", "--database-url", database_url]
        )
        assert (as_csv.exit_code, as_csv.stdout) == (0, "")


def test_an_unknown_journey_is_an_error(database_url: str) -> None:
    found = runner.invoke(
        app, ["measure", "experiments", "--journey", "nope", "--database-url", database_url]
    )
    assert found.exit_code == 1
    assert "not_found" in found.output


def test_the_plan_is_the_planning_modules() -> None:
    found = runner.invoke(
        app,
        [
            "measure",
            "plan",
            "--baseline",
            "0.04",
            "--lift",
            "0.15",
            "--ratio",
            "9",
            "--per-day",
            "800",
        ],
    )
    assert found.exit_code == 0, found.output
    expected = planning.for_proportions(0.04, 0.15, ratio=9.0, per_day=800.0)
    assert json.loads(found.stdout)["control"] == expected.control
    assert json.loads(found.stdout)["days"] == expected.days
    refused = runner.invoke(app, ["measure", "plan", "--baseline", "0.95", "--lift", "0.1"])
    assert refused.exit_code == 2
