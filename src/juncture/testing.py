"""Helpers for tests and benchmarks, shipped so that users can test their own set-ups:
a real server in a child process on a loopback port, free ports, a manual clock."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import httpx

from juncture.runtime.clock import ManualClock

__all__ = ["ManualClock", "ServerProcess", "free_port"]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """``juncture serve`` in a child process, bound to 127.0.0.1 on a free port."""

    def __init__(
        self,
        database_url: str,
        *,
        env: Mapping[str, str] | None = None,
        port: int | None = None,
        log: Path | None = None,
    ) -> None:
        self.database_url = database_url
        self.port = port or free_port()
        self.env = {**os.environ, **(env or {})}
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _spawn(self) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "juncture", "serve", "--host", "127.0.0.1"]
        command += ["--port", str(self.port), "--database-url", self.database_url]
        if self.log is None:
            return subprocess.Popen(  # noqa: S603 - our own interpreter and module
                command, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
            )
        # The child keeps its own copy of the descriptor; ours is closed at once.
        with self.log.open("ab") as out:
            return subprocess.Popen(  # noqa: S603 - our own interpreter and module
                command, env=self.env, stdout=out, stderr=out
            )

    def start(self, timeout: float = 30.0) -> ServerProcess:
        self.proc = self._spawn()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode} while starting")
            try:
                if httpx.get(self.url + "/readyz", timeout=1.0).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            time.sleep(0.1)
        self.kill()
        raise RuntimeError("server did not become ready in time")

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()

    def stop(self, timeout: float = 15.0) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
