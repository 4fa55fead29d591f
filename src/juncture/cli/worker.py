"""``juncture worker``: applies partitions of the distributed log (``JUNCTURE_LOG_URL``) to
the state in PostgreSQL, beside any number of other workers (``runtime/worker``)."""

from __future__ import annotations

import typer

from juncture.cli.options import DatabaseUrl


def worker(database_url: DatabaseUrl = None) -> None:
    """Apply partitions of the distributed log, sharing them with the other workers, and
    send the outbox."""
    import signal
    import threading

    from juncture import settings as settings_module
    from juncture import wiring
    from juncture.errors import JunctureError

    flags = {"database_url": database_url} if database_url else {}
    settings = settings_module.load(**flags)
    wiring.configure_logging(settings.log_level)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    store = wiring.open_store(settings)
    try:
        the_worker = wiring.build_worker(settings, store)
    except JunctureError as exc:
        store.close()
        typer.echo(f"juncture worker: {exc.message}", err=True)
        raise typer.Exit(2) from exc
    try:
        the_worker.run(stop)
    finally:
        store.close()
