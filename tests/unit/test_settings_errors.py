"""A bad JUNCTURE_* value or flag: one clear line naming it, no traceback, no secrets."""

from __future__ import annotations

import sys

import pytest

from juncture import settings
from juncture.cli import main as cli
from juncture.errors import InvalidSettings


def test_load_names_the_variable_and_what_is_wrong(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUNCTURE_PORT", "abc")
    monkeypatch.setenv("JUNCTURE_QUIET_HOURS", "late")
    with pytest.raises(InvalidSettings) as caught:
        settings.load()
    lines = caught.value.message.splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("invalid setting JUNCTURE_PORT: ")
    assert "valid integer" in lines[0] and "'abc'" in lines[0]
    assert lines[1].startswith("invalid setting JUNCTURE_QUIET_HOURS: quiet hours are HH:MM")


def test_a_flag_is_named_as_a_flag() -> None:
    with pytest.raises(InvalidSettings, match=r"--max-commit-events: .*greater than or equal"):
        settings.load(max_commit_events=0, database_url=None)


def test_flags_not_given_are_left_to_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUNCTURE_PORT", "9001")
    assert settings.load(port=None).port == 9001
    assert settings.load(port=9002).port == 9002


def test_the_value_of_a_secret_is_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InvalidSettings) as caught:
        settings.load(admin_token=["s3cret-token"])  # not a string: fails validation
    assert "--admin-token" in caught.value.message
    assert "s3cret" not in caught.value.message


def test_the_command_exits_2_with_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("JUNCTURE_MAX_COMMIT_EVENTS", "0")
    monkeypatch.setattr(sys, "argv", ["juncture", "db", "current", "--database-url", "sqlite://"])
    with pytest.raises(SystemExit) as exited:
        cli.main()
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("juncture: invalid setting JUNCTURE_MAX_COMMIT_EVENTS: ")
    assert "Traceback" not in err
