"""``juncture.testing.ServerProcess`` says why a server did not start (the end of what it
wrote), and its own log of the server's output leaves no file behind."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from juncture.testing import ServerProcess

pytestmark = pytest.mark.slow


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The folder where temporary files go, for this test alone."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_a_server_that_exits_at_start_says_why(scratch: Path, tmp_path: Path) -> None:
    server = ServerProcess(f"sqlite:///{tmp_path / 'no-such-folder' / 'j.db'}")
    with pytest.raises(RuntimeError, match="exited with") as failed:
        server.start(timeout=120)
    assert "unable to open database file" in str(failed.value)
    assert list(scratch.iterdir()) == []


def test_a_server_that_is_not_ready_in_time_says_what_it_wrote(
    scratch: Path, sqlite_url: str
) -> None:
    server = ServerProcess(sqlite_url, env={"JUNCTURE_LOG_LEVEL": "debug"})
    with pytest.raises(RuntimeError, match="did not become ready in 0 s"):
        server.start(timeout=0.01)
    assert server.proc is not None and server.proc.poll() is not None  # killed
    assert list(scratch.iterdir()) == []


def test_the_log_of_a_stopped_or_killed_server_is_removed(scratch: Path, sqlite_url: str) -> None:
    with ServerProcess(sqlite_url) as server:
        assert len(list(scratch.iterdir())) == 1
    assert list(scratch.iterdir()) == []
    server.start().kill()
    assert list(scratch.iterdir()) == []


def test_a_log_given_is_kept_and_quoted(tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    server = ServerProcess(f"sqlite:///{tmp_path / 'no-such-folder' / 'j.db'}", log=log)
    with pytest.raises(RuntimeError, match="unable to open database file"):
        server.start(timeout=120)
    assert "unable to open database file" in log.read_text()
