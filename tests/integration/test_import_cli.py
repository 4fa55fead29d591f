"""``juncture import``, ``juncture failed`` and ``juncture keys`` on a real database."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from juncture.cli import app
from juncture.store.sql import SqlStore

runner = CliRunner()


def test_jsonl_import_reports_rejected_lines_and_is_idempotent(
    database_url: str, tmp_path: Path
) -> None:
    lines = [
        {
            "type": "identify",
            "userId": "c1",
            "traits": {"email": "c1@example.com"},
            "timestamp": "2025-11-01T10:00:00Z",
        },
        {
            "type": "track",
            "userId": "c1",
            "event": "Order Completed",
            "properties": {"order_id": "o1", "total": 30},
            "timestamp": "2025-11-02T10:00:00Z",
        },
        {"type": "track", "userId": "c1"},
    ]
    file = tmp_path / "history.jsonl"
    file.write_text("\n".join(json.dumps(x) for x in lines) + "\n\n{not json\n")
    args = ["import", str(file), "--database-url", database_url]
    first = runner.invoke(app, args)
    assert first.exit_code == 1, first.output
    assert "4 messages read: 2 stored, 0 already there, 2 rejected" in first.output
    assert f"{file}:3: missing_field: $.event" in first.output
    assert f"{file}:5: malformed_json" in first.output
    second = runner.invoke(app, args)
    assert "0 stored, 2 already there" in second.output
    store = SqlStore(database_url)
    events = store.events(user_id="c1", derived=False)
    failed = store.failed()
    store.close()
    assert [e.timestamp.day for e in events] == [1, 2]
    assert len(failed) == 4  # each run quarantines what it rejected, with the reason


def test_csv_orders_with_a_column_mapping(database_url: str, tmp_path: Path) -> None:
    file = tmp_path / "orders.csv"
    file.write_text(
        "Order Number,customer_id,timestamp,product_id,price,quantity,currency\n"
        "A-1,c9,2025-10-01T09:00:00Z,P1,10.0,2,EUR\n"
        "A-1,c9,2025-10-01T09:00:00Z,P2,5.5,1,EUR\n"
        "A-2,c9,2025-10-05T09:00:00Z,P3,99,1,EUR\n"
    )
    result = runner.invoke(
        app,
        [
            "import",
            str(file),
            "--format",
            "orders",
            "--map",
            "Order Number=order_id",
            "--database-url",
            database_url,
        ],
    )
    assert result.exit_code == 0, result.output
    assert "2 messages read: 2 stored" in result.output
    store = SqlStore(database_url)
    orders = store.events(user_id="c9", derived=False)
    store.close()
    assert [o.properties["order_id"] for o in orders] == ["A-1", "A-2"]
    assert orders[0].properties["total"] == 25.5
    assert [p["quantity"] for p in orders[0].properties["products"]] == [2, 1]
    assert orders[0].context["channel"] == "store"


def test_csv_customers_become_identify_calls(database_url: str, tmp_path: Path) -> None:
    file = tmp_path / "customers.csv"
    file.write_text("customer_id,email,city,created_at\nc1,a@example.com,Berlin,2024-01-01\n")
    result = runner.invoke(app, ["import", str(file), "--database-url", database_url])
    assert result.exit_code == 0, result.output
    store = SqlStore(database_url)
    [event] = store.events(user_id="c1", derived=False)
    store.close()
    assert event.type == "identify"
    assert event.traits == {"email": "a@example.com", "city": "Berlin", "created_at": "2024-01-01"}


def test_failed_list_and_replay_with_a_corrected_payload(database_url: str, tmp_path: Path) -> None:
    file = tmp_path / "bad.jsonl"
    file.write_text(json.dumps({"type": "track", "userId": "c1", "messageId": "m-1"}) + "\n")
    runner.invoke(app, ["import", str(file), "--database-url", database_url])
    listed = runner.invoke(app, ["failed", "list", "--database-url", database_url])
    assert "missing_field" in listed.output
    fixed = tmp_path / "fixed.json"
    fixed.write_text(
        json.dumps({"type": "track", "userId": "c1", "messageId": "m-1", "event": "Store Visited"})
    )
    store = SqlStore(database_url)
    [row] = store.failed()
    result = runner.invoke(
        app,
        ["failed", "replay", str(row.id), "--payload", str(fixed), "--database-url", database_url],
    )
    assert "replayed 1; still failing 0" in result.output, result.output
    [event] = store.events(user_id="c1", derived=False)
    store.close()
    assert event.event == "Store Visited"


def test_minted_write_key_is_accepted_by_the_store(database_url: str) -> None:
    result = runner.invoke(app, ["keys", "create", "web", "--database-url", database_url])
    assert result.exit_code == 0
    key = result.stdout.strip().splitlines()[0]
    assert key.startswith("wk_")
    from juncture.settings import key_hash

    store = SqlStore(database_url)
    assert store.write_key_source(key_hash(key)) is not None
    store.close()
