"""The engine behind the log in a process of its own, supervised by ``juncture serve``.

The engine is Python work under the GIL: on a thread of the server it takes the
interpreter from the requests it should never slow down. As a child process
(``juncture engine``) it runs beside the server, at a lower CPU priority, on the same
database. The supervisor restarts it when it exits; the child exits when its parent is
gone, so a server killed with SIGKILL leaves no engine behind to race the next one (two
engines on one log stay exactly-once anyway: see ``log_positions``).
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence

log = logging.getLogger("juncture.engine_process")
RESTART_AFTER = 1.0  # seconds before an exited engine is started again
STOP_WITHIN = 10.0  # seconds the engine gets to finish its commit after SIGTERM


class EngineProcess:
    def __init__(self, env: Mapping[str, str], args: Sequence[str] = ()) -> None:
        self._env = {**os.environ, **env}
        self._args = tuple(args)  # more options of ``juncture engine``
        self._proc: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._watch = threading.Thread(target=self._run, name="juncture-engine-watch", daemon=True)

    def start(self) -> None:
        self._proc = self._spawn()
        self._watch.start()

    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self) -> None:
        self._stopping.set()
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(STOP_WITHIN)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if self._watch.is_alive():
            self._watch.join()

    def _spawn(self) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "juncture", "engine", "--parent", str(os.getpid())]
        command += self._args
        return subprocess.Popen(command, env=self._env)  # noqa: S603 - our own interpreter

    def _run(self) -> None:
        while not self._stopping.is_set():
            assert self._proc is not None
            code = self._proc.wait()
            if self._stopping.wait(RESTART_AFTER):
                return
            log.warning("the engine process exited (code %d): starting it again", code)
            self._proc = self._spawn()


def parent_gone(parent: int) -> bool:
    """Whether the process that started this one has exited (this one was re-parented)."""
    return os.getppid() != parent
