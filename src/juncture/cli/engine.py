"""``juncture engine``: the engine behind the log, as a process of its own.

``juncture serve`` starts it when ``JUNCTURE_ENGINE_MODE=behind`` (and keeps it running);
run it yourself to apply a log that servers with ``JUNCTURE_ENGINE=false`` fill. Two on
one database stay exactly-once (each commit checks the engine's position) but take turns.
"""

from __future__ import annotations

from typing import Annotated

import typer

from juncture.cli.options import DatabaseUrl


def engine(
    database_url: DatabaseUrl = None,
    parent: Annotated[
        int | None, typer.Option(help="Exit when this process (the server) is gone")
    ] = None,
    hold_timers: Annotated[
        bool, typer.Option(help="Fire no timer (the server holds overdue work)")
    ] = False,
    ready_fd: Annotated[
        int | None, typer.Option(help="Write a byte to this descriptor once applying the log")
    ] = None,
) -> None:
    """Apply the event log to profiles, signals, segments and journeys, behind ingestion."""
    import os
    import signal
    import threading

    from juncture import settings as settings_module
    from juncture import wiring
    from juncture.runtime import heap
    from juncture.runtime.engine_process import parent_gone

    flags = {"database_url": database_url} if database_url else {}
    settings = settings_module.load(**flags).model_copy(
        update={"engine": True, "engine_mode": "behind", "engine_process": False}
    )
    wiring.configure_logging(settings.log_level)
    if settings.engine_nice:
        os.nice(settings.engine_nice)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    juncture = wiring.build(settings, hold_timers=hold_timers)  # its follower applies the log
    if ready_fd is not None:  # the server's /readyz waits for this
        os.write(ready_fd, b"1")
        os.close(ready_fd)
    heap.settle()
    if not hold_timers:
        juncture.start_scheduler()
    try:
        while not stop.wait(1.0):
            if parent is not None and parent_gone(parent):
                break
            if juncture.follower is not None and not juncture.follower.running:
                raise typer.Exit(1)  # it stopped (another engine moved its position)
    finally:
        juncture.close()
