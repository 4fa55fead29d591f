"""``juncture plans`` and ``juncture quality report`` on a real database, with an import
held to its source's plan."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from juncture.cli.main import app

runner = CliRunner()
PLAN = """\
name: Point of sale
violations: flag
unplanned: quarantine
rules:
  events:
    - name: Order Completed
      rules:
        type: object
        properties:
          properties: {type: object, required: [order_id]}
"""


def test_a_plan_applied_from_the_cli_holds_an_import_and_is_reported(
    database_url: str, tmp_path: Path
) -> None:
    db = ["--database-url", database_url]
    bad = tmp_path / "bad.yaml"
    bad.write_text(PLAN.replace("unplanned: quarantine", "unplanned: sometimes"))
    refused = runner.invoke(app, ["plans", "apply", str(bad), "--source", "pos", *db])
    assert refused.exit_code == 1
    assert f"{bad}:3: unplanned: unplanned is one of allow, flag, quarantine" in refused.output
    plan = tmp_path / "pos.yaml"
    plan.write_text(PLAN)
    applied = runner.invoke(app, ["plans", "apply", str(plan), "--source", "pos", *db])
    assert applied.exit_code == 0, applied.output
    assert json.loads(applied.stdout)["events"] == ["Order Completed"]
    assert runner.invoke(app, ["plans", "list", *db]).stdout.startswith(f"pos\t{plan}\t")

    lines = [
        {"type": "track", "userId": "c1", "event": "Order Completed", "properties": {}},
        {
            "type": "track",
            "userId": "c1",
            "event": "Order Completed",
            "properties": {"order_id": "1"},
        },
        {"type": "track", "userId": "c1", "event": "Till Opened"},
    ]
    history = tmp_path / "pos.jsonl"
    history.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    imported = runner.invoke(app, ["import", str(history), "--source", "pos", *db])
    assert imported.exit_code == 1  # the unplanned event is quarantined, its line reported
    assert f"{history}:3: unplanned_event: $.event: tracking plan:" in imported.output

    report = runner.invoke(app, ["quality", "report", "pos", "--since", "1h", *db])
    assert report.exit_code == 0, report.output
    found = json.loads(report.stdout)
    assert (found["received"], found["violating"], found["quarantined"]) == (3, 2, 1)
    assert found["unplannedEvents"] == ["Till Opened"]
    assert runner.invoke(app, ["plans", "delete", "pos", *db]).exit_code == 0
    assert runner.invoke(app, ["plans", "delete", "pos", *db]).exit_code == 1
