"""The engine behind the log in a process of its own, supervised by ``juncture serve``.

The engine is Python work under the GIL: on a thread of the server it takes the
interpreter from the requests it should never slow down. As a child process
(``juncture engine``) it runs beside the server, at a lower CPU priority, on the same
database. The supervisor restarts it when it exits; the child exits when its parent is
gone, so a server killed with SIGKILL leaves no engine behind to race the next one (two
engines on one log stay exactly-once anyway: see ``log_positions``). The child says it is
applying the log by writing to a pipe it is handed (``--ready-fd``): until then the engine
is not running as ``/readyz`` and read-your-writes see it (the child spends its first
seconds importing).
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
        self._ready = threading.Event()  # the running child said it applies the log
        self._stopping = threading.Event()
        self._watch = threading.Thread(target=self._run, name="juncture-engine-watch", daemon=True)

    def start(self) -> None:
        self._proc = self._spawn()
        self._watch.start()

    def alive(self) -> bool:
        """Whether the engine runs and has said it applies the log."""
        return self._proc is not None and self._proc.poll() is None and self._ready.is_set()

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
        self._ready.clear()
        said, say = os.pipe()
        command = [sys.executable, "-m", "juncture", "engine", "--parent", str(os.getpid())]
        command += ["--ready-fd", str(say), *self._args]
        try:  # our own interpreter
            proc = subprocess.Popen(command, env=self._env, pass_fds=(say,))  # noqa: S603
        finally:
            os.close(say)  # the child holds its copy: its exit ends the read below
        threading.Thread(target=self._await_ready, args=(said,), daemon=True).start()
        return proc

    def _await_ready(self, said: int) -> None:
        try:
            if os.read(said, 1):  # empty: the child exited before it was ready
                self._ready.set()
        finally:
            os.close(said)

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
