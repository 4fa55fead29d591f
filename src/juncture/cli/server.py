"""The HTTP server of ``juncture serve`` and ``juncture demo``: uvicorn, bounded by the
settings, so that no client holds a connection or the server's memory without end."""

from __future__ import annotations

from typing import Any, Final

from fastapi import FastAPI

from juncture.settings import Settings

GRACEFUL_SHUTDOWN: Final = 10.0  # seconds open requests get to finish after a stop signal


def options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options: where to listen and the bounds on clients (the body's own time
    limit, ``body_timeout``, is the app's: uvicorn has none)."""
    return {
        "host": settings.host,
        "port": settings.port,
        "access_log": False,  # access lines carry client addresses: personal data
        "log_config": None,
        "loop": "uvloop",
        "http": "httptools",
        "timeout_keep_alive": settings.keep_alive_timeout,
        "limit_concurrency": settings.max_connections,
        "timeout_graceful_shutdown": GRACEFUL_SHUTDOWN,
    }


def run(app: FastAPI, settings: Settings) -> None:
    import uvicorn

    uvicorn.run(app, **options(settings))
