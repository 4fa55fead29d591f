"""``juncture db`` on a fresh file, and ``juncture failed replay`` of the whole quarantine."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from pathlib import Path

import orjson
from typer.testing import CliRunner

from juncture.cli.main import app
from juncture.core.messages import Rejection
from juncture.runtime.unit_of_work import commit
from juncture.store import migrate
from juncture.store.base import Quarantined
from juncture.store.sql import SqlStore

runner = CliRunner()


def _head_of_the_scripts() -> str:
    # The newest migration is the one that no other migration revises.
    versions = Path(migrate.__file__).parent / "migrations" / "versions"
    revisions: dict[str, str] = {}
    for script in versions.glob("0*.py"):
        text = script.read_text()
        own = re.search(r'^revision = "(.+)"$', text, re.MULTILINE)
        down = re.search(r'^down_revision = "?([^"\n]+)"?$', text, re.MULTILINE)
        assert own is not None and down is not None, script
        revisions[own[1]] = down[1]
    [head] = set(revisions) - set(revisions.values())
    return head


def test_db_upgrade_on_a_fresh_sqlite_file_then_current_shows_the_head(tmp_path: Path) -> None:
    file = tmp_path / "fresh.db"
    url = f"sqlite:///{file}"
    head = _head_of_the_scripts()
    before = runner.invoke(app, ["db", "current", "--database-url", url])
    assert before.exit_code == 0, before.output
    assert f"database: None  newest: {head}" in before.stdout
    upgraded = runner.invoke(app, ["db", "upgrade", "--database-url", url])
    assert upgraded.exit_code == 0, upgraded.output
    assert f"schema at revision {head}" in upgraded.stdout
    after = runner.invoke(app, ["db", "current", "--database-url", url])
    assert after.exit_code == 0, after.output
    assert f"database: {head}  newest: {head}" in after.stdout
    with sqlite3.connect(file) as conn:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [(head,)]
        assert conn.execute("SELECT count(*) FROM events").fetchone() == (0,)
    again = runner.invoke(app, ["db", "upgrade", "--database-url", url])
    assert (again.exit_code, f"schema at revision {head}" in again.stdout) == (0, True)


def _quarantine(url: str, received: dt.datetime, *bodies: dict[str, object]) -> None:
    """Rows as an older version would have quarantined them: its rule is gone since."""
    rejections = [
        Rejection(
            index=i,
            code="invalid_timestamp",
            message="cannot read the timestamp",
            path="$.timestamp",
            raw=orjson.dumps(body),
            message_id=str(body["messageId"]),
        )
        for i, body in enumerate(bodies)
    ]
    store = SqlStore(url)
    writer = store.writer()
    commit(writer, [], [Quarantined("import", received, rejections)])
    writer.close()
    store.close()


def test_failed_replay_without_ids_replays_every_row_that_passes_now(
    database_url: str,
) -> None:
    received = dt.datetime(2025, 11, 3, 8, 0, tzinfo=dt.UTC)
    ok = {"type": "track", "userId": "c1", "event": "Store Visited"}
    _quarantine(
        database_url,
        received,
        dict(ok, messageId="m-1", timestamp="2025-11-02 10:00:00"),
        {"type": "track", "userId": "c1", "messageId": "m-2"},  # still no event
        dict(ok, messageId="m-3", timestamp="2025-11-02 11:00:00"),
    )
    store = SqlStore(database_url)
    ids = {row.message_id: row.id for row in store.failed()}
    args = ["failed", "replay", "--database-url", database_url]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "replayed 2; still failing 1" in result.stdout
    assert f"  {ids['m-2']}: $.event:" in result.stdout
    events = store.events(user_id="c1", derived=False)
    assert [(e.message_id, e.timestamp.hour) for e in events] == [("m-1", 10), ("m-3", 11)]
    assert {e.received_at for e in events} == {received}
    assert [row.message_id for row in store.failed()] == ["m-2"]
    again = runner.invoke(app, args)
    assert "replayed 0; still failing 1" in again.stdout
    assert len(store.events(user_id="c1", derived=False)) == 2
    store.close()
