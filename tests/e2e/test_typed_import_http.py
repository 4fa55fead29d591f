"""Typed CSV imports and list-valued traits, matched by segments over HTTP: an imported age of
34 is a number that "age under 40" reads, and ``interests: [yoga, hiking]`` is matched by
``contains`` and ``in``, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import httpx
from segment.analytics.client import Client
from typer.testing import CliRunner

from juncture.cli.main import app
from tests.conftest import ADMIN, WRITE_KEY, LiveServer, caught_up

YOUNG_YOGIS = """\
id: young-yogis
name: Under 40 and into yoga
where:
  all:
    - {trait: age, lt: 40}
    - {trait: interests, contains: yoga}
"""
OUTDOORS = """\
id: outdoors
name: Into hiking or climbing
where: {trait: interests, in: [hiking, climbing]}
"""
CUSTOMERS = """\
customer_id,email,age,vip,interests,postcode
c1,c1@example.com,34,yes,yoga; hiking,01067
c2,c2@example.com,52,no,yoga,10115
c3,c3@example.com,thirty,no,climbing,80331
c4,c4@example.com,29,no,,20095
"""


def _preview(live: LiveServer, source: str) -> int:
    r = httpx.post(f"{live.url}/v1/segments/preview", json={"source": source}, headers=ADMIN)
    assert r.status_code == 200, r.text
    return int(r.json()["size"])


def _traits(live: LiveServer, user_id: str) -> dict[str, object]:
    r = httpx.get(f"{live.url}/v1/profiles", params={"userId": user_id}, headers=ADMIN)
    assert r.status_code == 200, r.text
    return dict(r.json()["profiles"][0]["traits"])


def test_typed_csv_columns_and_list_traits_are_matched_by_segments(
    live: LiveServer, database_url: str, tmp_path: Path
) -> None:
    csv_file, schema = tmp_path / "customers.csv", tmp_path / "customers.schema.yaml"
    csv_file.write_text(CUSTOMERS)
    schema.write_text("columns:\n  age: number\n  vip: boolean\n  interests: list\n")
    runner = CliRunner()
    args = ["import", str(csv_file), "--database-url", database_url, "--schema", str(schema)]
    result = runner.invoke(app, args)
    assert result.exit_code == 1, result.output  # one row refused, the others imported
    assert "4 messages read: 3 stored, 0 already there, 1 rejected" in result.output
    assert f"{csv_file}:4: invalid_value: age: 'thirty' is not a number" in result.output
    # The engine behind the log applies the import a moment later (the wait reads the
    # log's head, where the CLI's own appends are).
    caught_up(live.juncture)
    assert _traits(live, "c1") == {
        "email": "c1@example.com",
        "age": 34,
        "vip": True,
        "interests": ["yoga", "hiking"],
        "postcode": "01067",  # undeclared: text, with its leading zero
    }
    # A tracker's identify with a list trait, as Segment's Python client sends it.
    errors: list[Exception] = []
    client = Client(
        WRITE_KEY, host=live.url, sync_mode=True, on_error=lambda e, _b: errors.append(e)
    )
    client.identify("w1", {"age": 31, "interests": ["climbing", "yoga"]})
    client.flush()
    assert errors == []
    caught_up(live.juncture)  # w1's identify is in before the segments are previewed
    assert _preview(live, YOUNG_YOGIS) == 2  # c1 and w1: c2 is 52, c4 has no interests
    assert _preview(live, OUTDOORS) == 2  # c1 (hiking) and w1 (climbing)


def test_a_bad_schema_is_refused_with_its_file_and_line(database_url: str, tmp_path: Path) -> None:
    csv_file, schema = tmp_path / "customers.csv", tmp_path / "schema.yaml"
    csv_file.write_text(CUSTOMERS)
    schema.write_text("columns:\n  age: number\n  vip: flag\n")
    args = ["import", str(csv_file), "--database-url", database_url, "--schema", str(schema)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert f"{schema}:3: columns.vip: unknown type 'flag'" in result.output
    typed = CliRunner().invoke(app, [*args[:4], "--type", "age=integer"])
    assert typed.exit_code == 2
    assert "--type age=integer: write column=type; unknown type 'integer'" in typed.output
