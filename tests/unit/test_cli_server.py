"""``juncture serve`` runs uvicorn with bounds on every client, taken from the settings."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from juncture.cli import server as cli_server
from juncture.settings import Settings


def test_serve_bounds_idle_connections_and_concurrency_from_the_settings() -> None:
    settings = Settings(keep_alive_timeout=3, max_connections=50, port=9999)
    config = uvicorn.Config(FastAPI(), **cli_server.options(settings))
    assert config.timeout_keep_alive == 3
    assert config.limit_concurrency == 50
    assert config.timeout_graceful_shutdown == cli_server.GRACEFUL_SHUTDOWN
    assert not config.access_log and config.port == 9999


def test_the_defaults_are_bounded() -> None:
    options = cli_server.options(Settings())
    assert 0 < options["timeout_keep_alive"] <= 60
    assert 0 < options["limit_concurrency"] <= 10_000
    assert 0 < Settings().body_timeout <= 60
