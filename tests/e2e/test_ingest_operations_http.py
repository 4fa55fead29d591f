"""Operating the tracking API over real HTTP: readiness when the store goes away, the dedup
and commit metrics, write keys minted by the CLI, a too-large message inside a batch."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import psycopg
import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from juncture import wiring
from juncture.cli.main import app
from juncture.store.sql import SqlStore
from juncture.testing import basic_auth
from juncture.testing import track_message as track
from tests.conftest import ADMIN, BASIC, LiveServer, _pg_admin, settings_for, stored


def _metric(live: LiveServer, name: str) -> float:
    for line in httpx.get(f"{live.url}/metrics").text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    raise AssertionError(f"{name} not in /metrics")


@contextmanager
def _sqlite_away(live: LiveServer, folder: Path) -> Iterator[None]:
    # SQLite answers `SELECT 1` on any open connection, so drop the pooled ones: a new
    # connection to a file whose folder is gone cannot open.
    live.juncture.store.engine.dispose()
    away = folder.with_name(folder.name + "-away")
    folder.rename(away)
    try:
        yield
    finally:
        away.rename(folder)


@contextmanager
def _postgres_away(database: str) -> Iterator[None]:
    with psycopg.connect(_pg_admin(), autocommit=True) as admin:
        admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS false')
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
            (database,),
        )
        try:
            yield
        finally:
            admin.execute(f'ALTER DATABASE "{database}" ALLOW_CONNECTIONS true')


@pytest.fixture
def server_in_folder(database_url: str, tmp_path: Path) -> Iterator[tuple[LiveServer, Path]]:
    """A live server whose SQLite file sits alone in a folder (that can be taken away)."""
    folder = tmp_path / "store"
    url = database_url
    if database_url.startswith("sqlite"):
        folder.mkdir()
        shutil.copy(database_url.removeprefix("sqlite:///"), folder / "juncture.db")
        url = f"sqlite:///{folder / 'juncture.db'}"
    server = LiveServer(wiring.build(settings_for(url))).start()
    yield server, folder
    server.stop()


def test_readyz_is_503_while_the_store_cannot_be_reached_and_healthz_stays_200(
    server_in_folder: tuple[LiveServer, Path], database_url: str
) -> None:
    live, folder = server_in_folder
    assert httpx.get(f"{live.url}/readyz").status_code == 200
    outage = (
        _sqlite_away(live, folder)
        if database_url.startswith("sqlite")
        else _postgres_away(str(sa.make_url(database_url).database))
    )
    with outage:
        ready = httpx.get(f"{live.url}/readyz")
        assert (ready.status_code, ready.json()["code"]) == (503, "store_unavailable")
        assert ready.json()["message"]
        assert httpx.get(f"{live.url}/healthz").json() == {"status": "ok"}
    assert httpx.get(f"{live.url}/readyz").json() == {"status": "ready"}
    body = track()
    # a client retries on 503 (Retry-After); the store is back, so a retry must get through
    answers = [httpx.post(f"{live.url}/v1/track", json=body, headers=BASIC) for _ in range(3)]
    assert 200 in [a.status_code for a in answers], [a.text for a in answers]
    assert len(stored(live, userId="u-1")) == 1


def test_deduplicated_metric_counts_retried_messages(live: LiveServer) -> None:
    batch = {"batch": [dict(track(), type="track") for _ in range(3)]}
    no_id = {"userId": "u-1", "event": "Cart Viewed", "timestamp": "2026-01-05T10:00:00Z"}
    for _ in range(2):  # a client that did not see the 200 sends the same bodies again
        assert httpx.post(f"{live.url}/v1/batch", json=batch, headers=BASIC).status_code == 200
        assert httpx.post(f"{live.url}/v1/track", json=no_id, headers=BASIC).status_code == 200
    assert _metric(live, "juncture_events_accepted_total") == 4
    assert _metric(live, "juncture_events_deduplicated_total") == 4
    assert len(stored(live, userId="u-1")) == 4


def test_commit_metrics_count_commits_of_events_and_not_timer_ticks(live: LiveServer) -> None:
    for _ in range(3):
        live.juncture.tick_sync()  # nothing due: a commit without events
    batch = {"batch": [dict(track(), type="track") for _ in range(3)]}
    assert httpx.post(f"{live.url}/v1/batch", json=batch, headers=BASIC).status_code == 200
    assert _metric(live, "juncture_commit_events_count") == 1
    if live.juncture.behind:  # the commit holds the three; the engine derives after it
        assert _metric(live, "juncture_commit_events_sum") == 3
    else:
        with live.juncture.store.engine.connect() as conn:  # the three and what they derived
            every = conn.execute(sa.text("SELECT count(*) FROM events")).scalar_one()
        assert _metric(live, "juncture_commit_events_sum") == every > 3
    assert _metric(live, "juncture_commit_requests_sum") == 1


def test_a_key_minted_by_the_cli_is_accepted_over_http_and_an_unknown_one_is_not(
    live: LiveServer, database_url: str
) -> None:
    minted = CliRunner().invoke(app, ["keys", "create", "pos", "--database-url", database_url])
    assert minted.exit_code == 0, minted.output
    key = minted.stdout.strip().splitlines()[0]
    source = minted.stderr.split("source ", 1)[1].split(":", 1)[0]
    body = track()
    r = httpx.post(f"{live.url}/v1/track", json=body, headers=basic_auth(key))
    assert (r.status_code, r.content) == (200, b'{"success":true}')
    unknown = httpx.post(
        f"{live.url}/v1/track", json=track(), headers=basic_auth("wk_" + uuid.uuid4().hex)
    )
    assert (unknown.status_code, unknown.json()["code"]) == (401, "unauthorized")
    store = SqlStore(database_url)
    [event] = store.events(user_id="u-1", derived=False)
    store.close()
    assert (event.message_id, event.source) == (body["messageId"], source)


def test_a_message_over_32_kb_in_a_batch_is_rejected_alone(live: LiveServer) -> None:
    small = [dict(track(), type="track") for _ in range(2)]
    big = dict(track(), type="track", properties={"note": "x" * (33 * 1024)})
    r = httpx.post(f"{live.url}/v1/batch", json={"batch": [small[0], big, small[1]]}, headers=BASIC)
    assert r.status_code == 200, r.text
    [rejected] = r.json()["rejected"]
    assert (rejected["index"], rejected["code"], rejected["path"]) == (
        1,
        "event_too_large",
        "$.batch[1]",
    )
    assert rejected["messageId"] == big["messageId"]
    assert [e["messageId"] for e in stored(live, userId="u-1")] == [m["messageId"] for m in small]
    [failed] = httpx.get(f"{live.url}/v1/failed", headers=ADMIN).json()["failed"]
    assert (failed["code"], failed["path"]) == ("event_too_large", "$.batch[1]")
