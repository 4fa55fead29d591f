"""``juncture engine``: the engine behind the log, as a process of its own.

``juncture serve`` starts it with the engine behind the log (the default) and keeps it
running; run it yourself to apply a log that servers with ``JUNCTURE_ENGINE=false`` fill,
or with ``--drain`` to apply what ``juncture import`` stored and exit. Two on one database
stay exactly-once (each commit checks the engine's position) but take turns.
"""

from __future__ import annotations

import os
import signal
import threading
from typing import TYPE_CHECKING, Annotated

import typer

from juncture.cli.options import DatabaseUrl

if TYPE_CHECKING:
    from juncture.settings import Settings

_STOPS = (signal.SIGTERM, signal.SIGINT)


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
    drain: Annotated[
        bool,
        typer.Option(
            help="Exit once the log as it stands at the start is applied (after an import)"
        ),
    ] = False,
) -> None:
    """Apply the event log to profiles, signals, segments and journeys, behind ingestion."""
    from juncture import settings as settings_module
    from juncture import wiring

    flags = {"database_url": database_url} if database_url else {}
    settings = settings_module.load(**flags).model_copy(
        update={"engine": True, "engine_mode": "behind", "engine_process": False}
    )
    wiring.configure_logging(settings.log_level)
    if settings.engine_nice:
        os.nice(settings.engine_nice)
    stop = threading.Event()
    before = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in _STOPS}
    try:
        _run(settings, stop, parent, hold_timers, ready_fd, drain)
    finally:  # an embedding caller (a test, a script) gets its handlers back
        for sig, handler in before.items():
            signal.signal(sig, handler)


def _run(
    settings: Settings,
    stop: threading.Event,
    parent: int | None,
    hold_timers: bool,
    ready_fd: int | None,
    drain: bool,
) -> None:
    from juncture import wiring
    from juncture.runtime import heap
    from juncture.runtime.engine_process import parent_gone

    juncture = wiring.build(settings, hold_timers=hold_timers)  # its follower applies the log
    if ready_fd is not None:  # the server's /readyz waits for this
        os.write(ready_fd, b"1")
        os.close(ready_fd)
    heap.settle()
    if not hold_timers:
        juncture.start_scheduler()
    follower = juncture.follower
    until = juncture.store.log_positions.head() if drain else None
    try:
        while not stop.wait(0.1 if drain else 1.0):
            if parent is not None and parent_gone(parent):
                break
            if follower is not None and not follower.running:
                raise typer.Exit(1)  # it stopped (another engine moved its position)
            if until is not None and follower is not None and follower.position >= until:
                typer.echo(f"the log is applied up to seq {follower.position:,}")
                break
    finally:
        juncture.close()
