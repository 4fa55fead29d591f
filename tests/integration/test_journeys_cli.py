"""``juncture journeys ...`` on a real database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from juncture.cli.main import app
from juncture.definitions import journeys as journey_definitions
from juncture.store.journeys import JourneyStore
from juncture.store.sql import SqlStore
from tests.contract.test_journey_stats import fill
from tests.contract.test_journey_store import V1, V2

runner = CliRunner()
OTHER = V1.replace("id: thanks", "id: thanks_again").replace("Order Completed", "Signed Up")


def test_validate_prints_each_problem_with_file_and_line(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(V1)
    bad = tmp_path / "bad.yaml"
    bad.write_text(V1.replace("next: mail", "next: mial").replace("channel: email", "channel: fax"))
    ok = runner.invoke(app, ["journeys", "validate", str(good)])
    assert ok.exit_code == 0, ok.output
    assert f"{good}: ok (thanks, 4 nodes)" in ok.output
    failed = runner.invoke(app, ["journeys", "validate", str(tmp_path)])
    assert failed.exit_code == 1
    lines = failed.stdout.splitlines()
    assert f"{bad}:12: nodes[1].next: dangling next: there is no node 'mial'" in lines
    assert any(line.startswith(f"{bad}:15: nodes[2].channel: channel 'fax'") for line in lines)
    assert f"{good}: ok (thanks, 4 nodes)" in lines
    missing = runner.invoke(app, ["journeys", "validate", str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 1 and "nope.yaml: no such file or directory" in missing.output


def test_a_bad_file_applies_nothing_and_the_live_version_stays(
    database_url: str, tmp_path: Path
) -> None:
    folder = tmp_path / "journeys"
    folder.mkdir()
    (folder / "thanks.yaml").write_text(V1)
    (folder / "again.yaml").write_text(OTHER)
    db = ["--database-url", database_url]
    first = runner.invoke(app, ["journeys", "apply", str(folder), *db])
    assert first.exit_code == 0, first.output
    assert "thanks: version 1 stored, active" in first.output
    assert "thanks_again: version 1 stored, active" in first.output

    (folder / "thanks.yaml").write_text(V2)  # a good change ...
    (folder / "again.yaml").write_text(OTHER.replace("duration: 1d", "duration: 1 day"))  # bad
    second = runner.invoke(app, ["journeys", "apply", str(folder), *db])
    assert second.exit_code == 1
    assert f"{folder / 'again.yaml'}:11: nodes[1].duration: bad duration '1 day'" in second.output
    assert "nothing applied" in second.output
    store = SqlStore(database_url)
    try:
        catalog = JourneyStore(store.engine).catalog()
    finally:
        store.close()
    assert [(v.id, v.version) for v in catalog.versions] == [("thanks", 1), ("thanks_again", 1)]
    assert catalog.open == {"thanks", "thanks_again"}

    (folder / "again.yaml").write_text(OTHER)
    third = runner.invoke(app, ["journeys", "apply", str(folder), *db])
    assert third.exit_code == 0, third.output
    assert "thanks: version 2 stored, active; the file says version 1" in third.output
    assert "thanks_again: unchanged (version 1), active" in third.output


def test_library_list_show_pause_resume_archive_stats(database_url: str) -> None:
    db = ["--database-url", database_url]
    installed = runner.invoke(app, ["journeys", "apply", "--library", *db])
    assert installed.exit_code == 0, installed.output
    ids = [j.id for j in journey_definitions.load_library()]
    assert [line.split(":")[0] for line in installed.stdout.splitlines()] == ids
    listed = runner.invoke(app, ["journeys", "list", *db], terminal_width=200)
    assert listed.exit_code == 0 and all(i in listed.output for i in ids)

    shown = runner.invoke(app, ["journeys", "show", "cart_abandonment", *db])
    assert shown.exit_code == 0, shown.output
    assert "cart_abandonment: Cart abandonment recovery (priority 80), active" in shown.output
    assert "version 1: active, from library/cart_abandonment.yaml" in shown.output
    assert "until_event: Order Completed" in shown.output

    for command, said in [("pause", "paused"), ("resume", "active"), ("archive", "archived")]:
        done = runner.invoke(app, ["journeys", command, "win_back", *db])
        assert done.exit_code == 0 and f"win_back: {said} (latest version 1)" in done.output
    refused = runner.invoke(app, ["journeys", "resume", "win_back", *db])
    assert refused.exit_code == 1 and "win_back' is archived" in refused.output
    unknown = runner.invoke(app, ["journeys", "show", "nope", *db])
    assert unknown.exit_code == 1 and "no journey 'nope'" in unknown.output


def test_stats_as_json(database_url: str) -> None:
    store = SqlStore(database_url)
    try:
        JourneyStore(store.engine).apply(V1, "thanks.yaml")
        fill(store)
    finally:
        store.close()
    db = ["--database-url", database_url]
    one = runner.invoke(app, ["journeys", "stats", "thanks", "--json", *db])
    assert one.exit_code == 0, one.output
    [stats] = json.loads(one.stdout)
    assert (stats["entered"], stats["goalReached"], stats["sent"]) == (6, 2, 1)
    every = json.loads(runner.invoke(app, ["journeys", "stats", "--json", *db]).stdout)
    assert sorted(s["journey"] for s in every) == ["other", "thanks"]
    table = runner.invoke(app, ["journeys", "stats", "thanks", *db], terminal_width=200)
    assert table.exit_code == 0 and "6 entered, 2 active, 2 reached the goal" in table.output


def test_a_template_that_does_not_exist_fails_validation_with_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    own = tmp_path / "templates"
    monkeypatch.setenv("JUNCTURE_TEMPLATES_DIR", str(own))
    journey = tmp_path / "thanks.yaml"
    journey.write_text(V1.replace("template: post_purchase", "template: thank_you"))
    failed = runner.invoke(app, ["journeys", "validate", str(journey)])
    assert failed.exit_code == 1
    [line] = failed.stdout.splitlines()
    assert line.startswith(f"{journey}:16: nodes[2].template: no template 'thank_you'"), line
    (own / "thank_you").mkdir(parents=True)  # the retailer's own folder has it
    (own / "thank_you" / "subject.liquid").write_text("Thank you")
    ok = runner.invoke(app, ["journeys", "validate", str(journey)])
    assert ok.exit_code == 0, ok.output
