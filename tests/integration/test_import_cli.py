"""``juncture import``, ``juncture failed`` and ``juncture keys`` on a real database."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from juncture.cli.main import app
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


def test_csv_orders_refuse_bad_rows_by_line_and_import_the_rest(
    database_url: str, tmp_path: Path
) -> None:
    file = tmp_path / "orders.csv"
    file.write_text(
        "order_id,customer_id,timestamp,product_id,price,quantity,total\n"
        "A-1,c9,2025-10-01T09:00:00Z,P1,10.0,2,\n"  # 2: good
        ",c9,2025-10-02T09:00:00Z,P2,5.0,1,\n"  # 3: no order_id
        "A-2,c9,2025-10-03T09:00:00Z,P3,ten,1,\n"  # 4: bad price
        "A-3,c9,2025-10-04T09:00:00Z,P4,4.0,1.5,\n"  # 5: bad quantity (first line fine)
        "A-4,c9,2025-10-05T09:00:00Z,P5,4.0,1,\n"  # 6: good line of a bad order
        "A-4,c9,2025-10-05T09:00:00Z,P6,4.0,1,-3\n"  # 7: bad total
        "A-5,,2025-10-06T09:00:00Z,P7,7.0,1,\n"  # 8: no customer_id nor email
        "A-6,c9,2025-10-07T09:00:00Z,P8,3.0,3,\n"  # 9: good
    )
    result = runner.invoke(app, ["import", str(file), "--database-url", database_url])
    assert result.exit_code == 1, result.output
    assert "7 messages read: 2 stored, 0 already there, 5 rejected" in result.output
    refused = [line for line in result.output.splitlines() if line.startswith(f"{file}:")]
    assert refused == [
        f"{file}:3: missing_field: order_id: an order line needs an order_id",
        f"{file}:4: invalid_value: price: 'ten' is not a number of 0 or more",
        f"{file}:5: invalid_value: quantity: '1.5' is not a whole number of 1 or more",
        f"{file}:7: invalid_value: total: '-3' is not a number of 0 or more",
        f"{file}:8: missing_field: customer_id: an order needs a customer_id or an email",
    ]
    store = SqlStore(database_url)
    orders = store.events(user_id="c9", derived=False)
    store.close()
    assert [(o.properties["order_id"], o.properties["total"]) for o in orders] == [
        ("A-1", 20.0),
        ("A-6", 9.0),
    ]


def test_csv_customers_without_customer_id_are_refused_by_line(
    database_url: str, tmp_path: Path
) -> None:
    file = tmp_path / "customers.csv"
    file.write_text(
        "customer_id,email,city\n"
        "c1,a@example.com,Berlin\n"
        ",b@example.com,Paris\n"
        '"c3","c@example.com","Multi\nline"\n'
        "  ,d@example.com,Rome\n"
    )
    result = runner.invoke(app, ["import", str(file), "--database-url", database_url])
    assert result.exit_code == 1, result.output
    assert "4 messages read: 2 stored, 0 already there, 2 rejected" in result.output
    refused = [line for line in result.output.splitlines() if line.startswith(f"{file}:")]
    reason = "missing_field: customer_id: a customer row needs a customer_id"
    assert refused == [f"{file}:3: {reason}", f"{file}:6: {reason}"]
    store = SqlStore(database_url)
    stored = [e.user_id for c in ("c1", "c3") for e in store.events(user_id=c, derived=False)]
    failed = store.failed()
    store.close()
    assert stored == ["c1", "c3"]
    assert failed == []  # the file is what needs fixing: nothing to replay


def test_an_import_waits_in_the_log_until_the_engine_drains_it(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the engine behind the log (the default) `juncture import` only stores the
    events and says so; `juncture engine --drain` applies them and exits."""
    monkeypatch.setenv("JUNCTURE_ENGINE_MODE", "behind")  # whatever the environment says
    monkeypatch.setenv("JUNCTURE_ENGINE_NICE", "0")  # this test process keeps its priority
    file = tmp_path / "customers.csv"
    file.write_text("customer_id,email\nc7,c7@example.com\nc8,c8@example.com\n")
    url = ["--database-url", database_url]
    imported = runner.invoke(app, ["import", str(file), *url])
    assert imported.exit_code == 0, imported.output
    assert "2 events are in the log: the engine applies them" in imported.output
    store = SqlStore(database_url)
    try:
        assert store.profiles.by_identifier("user_id:c7") is None  # stored, not applied yet
        drained = runner.invoke(app, ["engine", "--drain", *url])
        assert drained.exit_code == 0, drained.output
        assert "the log is applied up to seq" in drained.output
        for user in ("c7", "c8"):
            found = store.profiles.by_identifier(f"user_id:{user}")
            assert found is not None and found.profile.traits["email"] == f"{user}@example.com"
    finally:
        store.close()
