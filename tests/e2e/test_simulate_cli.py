"""``juncture simulate`` drives a real ``juncture serve`` on loopback over the Segment API:
paced, accelerated, bounded in events and in time, and only at loopback unless told."""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner

from juncture.cli.main import app
from juncture.settings import source_of
from juncture.store import tables
from juncture.testing import ServerProcess
from tests.servers import SmtpSink

pytestmark = pytest.mark.slow
KEY = "sim-live-key"
runner = CliRunner()


@pytest.fixture
def server(sqlite_url: str) -> Iterator[ServerProcess]:
    with ServerProcess(sqlite_url, env={"JUNCTURE_WRITE_KEYS": KEY}) as running:
        yield running


def simulate(url: str, *flags: str) -> tuple[int, str]:
    """Exit code and output; the summary line alone goes to stdout (the bar to stderr)."""
    result = runner.invoke(app, ["simulate", "--url", url, "--write-key", KEY, *flags])
    return result.exit_code, result.output


def events_sent(url: str, *flags: str) -> int:
    result = runner.invoke(app, ["simulate", "--url", url, "--write-key", KEY, *flags])
    assert result.exit_code == 0, result.output
    assert "stopped: simulation ended" in result.stdout
    found = re.fullmatch(r"sent ([\d,]+) events in .*\n", result.stdout)
    assert found is not None, result.stdout
    return int(found.group(1).replace(",", ""))


def stored(database_url: str) -> list[tuple[str, dt.datetime]]:
    e = tables.events
    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(e.c.message_id, e.c.timestamp).where(e.c.source == source_of(KEY))
        ).all()
    engine.dispose()
    return [(str(m), t if t.tzinfo else t.replace(tzinfo=dt.UTC)) for m, t in rows]


def test_a_simulated_day_reaches_the_server_accelerated(server: ServerProcess) -> None:
    before = dt.datetime.now(dt.UTC)
    began = time.monotonic()
    sent = events_sent(
        server.url, "--customers", "120", "--days", "2", "--speed", "57600", "--seed", "4"
    )
    took = time.monotonic() - began
    assert sent > 50
    rows = stored(server.database_url)
    assert len(rows) == sent == len({m for m, _ in rows})
    # two days at 57,600x take 3 s, and the events are stamped on that compressed timeline
    assert 2.5 < took < 30
    after = dt.datetime.now(dt.UTC)
    assert all(before - dt.timedelta(seconds=1) <= t <= after for _, t in rows)
    assert max(t for _, t in rows) - min(t for _, t in rows) > dt.timedelta(seconds=1)


def test_the_run_stops_at_the_event_limit(server: ServerProcess) -> None:
    code, output = simulate(
        server.url, "--customers", "40", "--days", "2", "--speed", "86400", "--max-events", "25"
    )
    assert code == 0, output
    assert "stopped: event limit" in output
    assert len(stored(server.database_url)) == 25


def test_the_run_stops_at_the_time_limit(server: ServerProcess) -> None:
    began = time.monotonic()
    code, output = simulate(server.url, "--days", "7", "--speed", "1", "--max-seconds", "1.5")
    assert code == 0, output
    assert "stopped: time limit" in output
    assert 1.5 <= time.monotonic() - began < 10


def test_a_refused_write_key_stops_the_run(server: ServerProcess) -> None:
    result = runner.invoke(
        app,
        ["simulate", "--url", server.url, "--write-key", "wrong", "--speed", "86400"],
    )
    assert result.exit_code == 1
    assert "refused the write key" in result.output
    assert stored(server.database_url) == []


@pytest.mark.parametrize("url", ["http://192.0.2.1:8765", "http://shop.example:8765"])
def test_other_hosts_need_an_explicit_flag(url: str) -> None:
    began = time.monotonic()
    code, output = simulate(url, "--customers", "5")
    assert code == 2
    assert "--allow-remote" in output
    assert time.monotonic() - began < 5  # refused before any connection is tried


def test_no_server_is_a_clear_error(sqlite_url: str) -> None:
    from juncture.testing import free_port

    code, output = simulate(f"http://127.0.0.1:{free_port()}", "--customers", "5")
    assert code == 1
    assert "no server answers" in output


def test_a_server_that_really_sends_email_is_refused_unless_told(sqlite_url: str) -> None:
    sink = SmtpSink().start()
    env = {"JUNCTURE_WRITE_KEYS": KEY, "JUNCTURE_SMTP_URL": sink.url,
           "JUNCTURE_EMAIL_FROM": "Shop <shop@example.com>"}  # fmt: skip
    sending = ServerProcess(sqlite_url, env=env)
    try:
        sending.start(timeout=120)  # a busy machine starts servers slowly
        code, output = simulate(sending.url, "--customers", "20", "--max-events", "5")
        assert code == 1 and "sends real messages (email)" in output, output
        assert "--yes-send" in output
        assert stored(sending.database_url) == []  # nothing was sent
        code, output = simulate(
            sending.url, "--customers", "40", "--days", "2", "--speed", "86400",
            "--max-events", "5", "--yes-send",
        )  # fmt: skip
        assert code == 0 and "sent 5 events" in output, output
    finally:
        sending.stop()
        sink.stop()


def test_recorded_channels_do_not_count_as_sending() -> None:
    from juncture import wiring
    from juncture.settings import Settings

    smtp: dict[str, Any] = {"smtp_url": "smtp://127.0.0.1:2525", "email_from": "s@example.com"}
    assert wiring.sending(Settings.model_validate(smtp)) == ["email"]
    assert wiring.sending(Settings.model_validate({**smtp, "record_channels": "email"})) == []
    assert wiring.sending(Settings(sms_from="Shop", sms_url="http://127.0.0.1:9/sms")) == ["sms"]
    assert wiring.sending(Settings(sms_from="Shop", sms_kind="twilio")) == []  # no account
    assert wiring.sending(Settings()) == []
