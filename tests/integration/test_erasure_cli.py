"""``juncture profiles erase`` and ``export`` beside the store, on every store: by user id or
profile id, erasing after asking unless told not to; on SQLite, the erased bytes are
overwritten."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import msgspec
import orjson
import sqlalchemy as sa
from typer.testing import CliRunner

from juncture import wiring
from juncture.cli.main import app
from juncture.core import messages
from juncture.store import erasure, tables
from juncture.store.state import StateSql
from tests.conftest import caught_up, settings_for

runner = CliRunner()


def seed(url: str, users: list[str]) -> dict[str, str]:
    """Each user identifies and views a product; their profile ids by user."""
    juncture = wiring.build(settings_for(url))
    at = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC).isoformat()
    try:
        for user in users:
            for body in (
                {"type": "identify", "userId": user, "traits": {"email": f"{user}@example.com"}},
                {"type": "track", "userId": user, "event": "Product Viewed",
                 "properties": {"product_id": "P1", "price": 20.0}},
            ):  # fmt: skip
                raw = msgspec.Raw(
                    orjson.dumps({**body, "messageId": str(uuid.uuid4()), "timestamp": at})
                )
                envelope = messages.Envelope(messages=[raw], single=False)
                assert juncture.ingestor.ingest_sync(envelope, "test").rejected == []
        caught_up(juncture)  # their profiles are in
    finally:
        juncture.close()
    return {user: identity_profile(url, user) for user in users}


def identity_profile(url: str, user: str) -> str:
    store = wiring.open_store(settings_for(url))
    ids = tables.identities
    try:
        with store.engine.connect() as conn:
            query = sa.select(ids.c.profile_id).where(ids.c.identifier == f"user_id:{user}")
            return str(conn.execute(query).scalar_one())
    finally:
        store.close()


def count(url: str, table: sa.Table, **where: Any) -> int:
    store = wiring.open_store(settings_for(url))
    query = sa.select(sa.func.count()).select_from(table)
    for column, value in where.items():
        query = query.where(table.c[column] == value)
    try:
        with store.engine.connect() as conn:
            return int(conn.execute(query).scalar_one())
    finally:
        store.close()


def erase(url: str, *args: str, answer: str | None = None) -> Any:
    return runner.invoke(app, ["profiles", "erase", *args, "--database-url", url], input=answer)


def test_erase_by_user_id_and_by_profile_id(database_url: str) -> None:
    pids = seed(database_url, ["ann", "bob", "cy"])
    declined = erase(database_url, "--user-id", "ann", answer="n\n")
    assert declined.exit_code == 1  # aborted: nothing erased
    assert count(database_url, tables.profiles, profile_id=pids["ann"]) == 1

    done = erase(database_url, "--user-id", "ann", "--yes", "--reference", "TICKET-81")
    assert done.exit_code == 0, done.output
    assert "erased 1 profiles" in done.stdout
    assert count(database_url, tables.profiles, profile_id=pids["ann"]) == 0
    assert count(database_url, tables.events, profile_id=pids["ann"]) == 0
    assert count(database_url, tables.events, profile_id=pids["bob"]) >= 2

    confirmed = erase(database_url, pids["bob"], answer="y\n")
    assert confirmed.exit_code == 0, confirmed.output
    assert count(database_url, tables.identities, profile_id=pids["bob"]) == 0
    assert count(database_url, tables.profiles) == 1  # cy's

    listed = runner.invoke(app, ["profiles", "erasures", "--json", "--database-url", database_url])
    assert listed.exit_code == 0, listed.output
    records = json.loads(listed.stdout)  # newest first: Bob's, without a reference
    assert [(r["reference"], r["profiles"]) for r in records] == [(None, 1), ("TICKET-81", 1)]
    assert records[1]["rows"]["profiles"] == 1 and records[1]["rows"]["events"] >= 2
    table = runner.invoke(app, ["profiles", "erasures", "--database-url", database_url])
    assert table.exit_code == 0 and "TICKET-81" in table.stdout

    missing = erase(database_url, "--user-id", "ann", "--yes")
    assert missing.exit_code == 1
    assert "profile_not_found" in missing.output
    both = erase(database_url, pids["cy"], "--user-id", "cy", "--yes")
    assert both.exit_code == 2
    assert count(database_url, tables.profiles) == 1


def test_on_sqlite_the_erased_bytes_are_overwritten(sqlite_url: str) -> None:
    pids = seed(sqlite_url, ["dora-7f3a"])
    path = sqlite_url.removeprefix("sqlite:///")
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA secure_delete = OFF")  # as some builds have it
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        with open(path, "rb") as file:
            assert (b"dora-7f3a@example.com" in file.read()) is True
        cur = conn.cursor()
        cur.execute("BEGIN IMMEDIATE")
        at = dt.datetime(2026, 3, 3, tzinfo=dt.UTC)
        erased = erasure.erase(StateSql(cur, "sqlite"), pids["dora-7f3a"], at)
        cur.execute("COMMIT")
        assert erased is not None and erased.rows["profiles"] == 1
        assert conn.execute("PRAGMA secure_delete").fetchone() == (0,)  # as it was
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        with open(path, "rb") as file:
            assert (b"dora-7f3a" in file.read()) is False  # not in free pages either
    finally:
        conn.close()


def test_export_by_user_id_to_a_file_or_stdout(database_url: str, tmp_path: Path) -> None:
    pids = seed(database_url, ["eve", "fay"])
    file = tmp_path / "eve.json"
    base = ["profiles", "export", "--database-url", database_url]
    written = runner.invoke(app, [*base, "--user-id", "eve", "--output", str(file)])
    assert written.exit_code == 0, written.output
    export = json.loads(file.read_text())
    assert export["profiles"] == [pids["eve"]]
    tables_found = export["tables"]
    assert [r["identifier"] for r in tables_found["identities"]] == ["user_id:eve"]
    sent = [(e["type"], e["user_id"]) for e in tables_found["events"] if e["source"] == "test"]
    assert sent == [("identify", "eve"), ("track", "eve")]  # and what the engine derived
    assert tables_found["profiles"][0]["traits"] == {"email": "eve@example.com"}
    printed = runner.invoke(app, [*base, pids["eve"]])
    assert printed.exit_code == 0, printed.output
    assert json.loads(printed.stdout) == export  # the same, on stdout
    missing = runner.invoke(app, [*base, "--user-id", "nobody"])
    assert (missing.exit_code, "profile_not_found" in missing.output) == (1, True)
