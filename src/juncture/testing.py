"""Helpers for tests and benchmarks, shipped so that users can test their own set-ups:
a real server in a child process on a loopback port, free ports, a manual clock, a channel
that records (:class:`RecordingChannel`), and builders of events, tracking messages and the
headers that authenticate them."""

from __future__ import annotations

import base64
import datetime as dt
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Final

import httpx

from juncture.channels.recording import RecordingChannel
from juncture.core.events import Event
from juncture.runtime.clock import ManualClock

STARTUP: Final = 120.0  # seconds a server may take to import, migrate and start on a loaded machine
TAIL: Final = 4000  # characters of the server's output that an error at start quotes

__all__ = [
    "ManualClock",
    "RecordingChannel",
    "ServerProcess",
    "basic_auth",
    "bearer",
    "event",
    "free_port",
    "track_message",
]
T0: dt.datetime = dt.datetime(2024, 3, 4, 12, 0, tzinfo=dt.UTC)  # a Monday


def event(
    name: str,
    at: dt.datetime = T0,
    msg: str | None = None,
    **properties: Any,
) -> Event:
    """A validated ``track`` event of user ``u1`` as the core sees it, from source ``test``.
    Without ``msg``, its message id follows from the name, time and properties, so that the
    same call gives the same event.

    >>> event("Product Viewed", product_id="p1").message_id
    "Product Viewed-2024-03-04T12:00:00+00:00-[('product_id', 'p1')]"
    """
    return Event(
        source="test",
        message_id=msg or f"{name}-{at.isoformat()}-{sorted(properties.items())}",
        type="track",
        event=name,
        timestamp=at,
        received_at=at,
        user_id="u1",
        properties=properties,
    )


def track_message(**fields: Any) -> dict[str, Any]:
    """A Segment ``track`` message as a tracker sends it (a product view by ``u-1``, with a
    fresh ``messageId``); ``fields`` replace or add top-level fields."""
    return {
        "userId": "u-1",
        "event": "Product Viewed",
        "messageId": str(uuid.uuid4()),
        "properties": {"product_id": "P1"},
        **fields,
    }


def basic_auth(write_key: str) -> dict[str, str]:
    """The header a Segment tracker sends: Basic auth with the write key as user name.

    >>> basic_auth("wk")
    {'Authorization': 'Basic d2s6'}
    """
    return {"Authorization": "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()}


def bearer(token: str) -> dict[str, str]:
    """The header of the admin API: ``Authorization: Bearer <token>``."""
    return {"Authorization": f"Bearer {token}"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """``juncture serve`` in a child process, bound to 127.0.0.1 on a free port.

    Its output (stdout and stderr) goes to ``log``, or without one to a temporary file of
    its own, removed when the server is stopped or killed (or this object is collected);
    either way, a server that exits or is not ready in time raises with the end of what it
    wrote (:meth:`tail`)."""

    def __init__(
        self,
        database_url: str,
        *,
        env: Mapping[str, str] | None = None,
        port: int | None = None,
        log: Path | None = None,
        args: Sequence[str] = (),
    ) -> None:
        self.database_url = database_url
        self.args = tuple(args)  # more options of ``juncture serve``
        self.port = port or free_port()
        self.env = {**os.environ, **(env or {})}
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self._scratch: Path | None = None  # the log of our own, without ``log``
        self._remove: weakref.finalize[..., ServerProcess] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _spawn(self) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "juncture", "serve", "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "--database-url", self.database_url, *self.args]
        # A file, not a pipe: a pipe nobody reads fills and blocks the server. The child
        # keeps its own copy of the descriptor; ours is closed at once.
        with (self.log or self._scratch_log()).open("ab") as out:
            return subprocess.Popen(  # noqa: S603 - our own interpreter and module
                command, env=self.env, stdout=out, stderr=out
            )

    def _scratch_log(self) -> Path:
        if self._scratch is None:
            fd, name = tempfile.mkstemp(prefix="juncture-serve-", suffix=".log")
            os.close(fd)
            self._scratch = Path(name)
            self._remove = weakref.finalize(self, self._scratch.unlink, missing_ok=True)
        return self._scratch

    def tail(self, chars: int = TAIL) -> str:
        """The last ``chars`` characters the server wrote ("" when there is no log left)."""
        log = self.log or self._scratch
        if log is None or not log.exists():
            return ""
        with log.open("rb") as f:
            f.seek(max(0, f.seek(0, os.SEEK_END) - chars))
            return f.read().decode(errors="replace")

    def start(self, timeout: float = STARTUP) -> ServerProcess:
        """Spawn the server and wait for ``/readyz``; a server already running is kept
        (so ``with ServerProcess(...).start(timeout=...)`` starts one, not two)."""
        if self.proc is not None and self.proc.poll() is None:
            return self
        self.proc = self._spawn()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise self._failed(f"server exited with {self.proc.returncode} while starting")
            try:
                if httpx.get(self.url + "/readyz", timeout=1.0).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        raise self._failed(f"server did not become ready in {timeout:.0f} s")

    def _failed(self, reason: str) -> RuntimeError:
        """The server killed, its output read and its scratch log removed: the error."""
        self._end()
        output = self.tail()
        self._forget_log()
        said = f"; its output ended with:\n{output}" if output.strip() else " (it wrote nothing)"
        return RuntimeError(reason + said)

    def _end(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def _forget_log(self) -> None:
        if self._remove is not None:
            self._remove()  # removes the file once, whichever comes first
        self._scratch = self._remove = None

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash."""
        self._end()
        self._forget_log()

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self._end()
        self._forget_log()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
