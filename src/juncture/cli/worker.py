"""``juncture worker``: applies partitions of the distributed log (``JUNCTURE_LOG_URL``) to
the state in PostgreSQL, beside any number of other workers (``runtime/worker``), and
answers ``/healthz``, ``/readyz`` and ``/metrics`` on ``JUNCTURE_WORKER_PORT`` when set."""

from __future__ import annotations

import typer

from juncture.cli.options import DatabaseUrl
from juncture.cli.overdue import OnOverdue, Overdue, OverdueAfter


def worker(
    database_url: DatabaseUrl = None,
    overdue: Overdue = OnOverdue.ASK,
    overdue_after: OverdueAfter = 24.0,
) -> None:
    """Apply partitions of the distributed log, sharing them with the other workers, and
    fire the timers (held, like ``juncture serve``'s, when long overdue)."""
    import signal
    import threading

    import uvicorn

    from juncture import settings as settings_module
    from juncture import wiring
    from juncture.cli import overdue as on_overdue
    from juncture.errors import JunctureError
    from juncture.metrics import Metrics
    from juncture.runtime import heap
    from juncture.runtime.clock import SystemClock

    flags = {"database_url": database_url} if database_url else {}
    settings = settings_module.load(**flags)
    wiring.configure_logging(settings.log_level)
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    store = wiring.open_store(settings)
    metrics = Metrics()
    try:
        now = SystemClock().now()
        live = on_overdue.fire(store, overdue, overdue_after, now, on_overdue.WORKER)
        the_worker = wiring.build_worker(settings, store, metrics, hold_timers=not live)
    except JunctureError as exc:
        store.close()
        typer.echo(f"juncture worker: {exc.message}", err=True)
        raise typer.Exit(2) from exc
    heap.settle()
    http: uvicorn.Server | None = None
    if settings.worker_port is not None:
        app = wiring.worker_app(settings, store, the_worker, metrics)
        config = uvicorn.Config(
            app, host=settings.host, port=settings.worker_port, access_log=False,
            log_config=None, lifespan="off",
        )  # fmt: skip
        http = uvicorn.Server(config)
        threading.Thread(target=http.run, name="juncture-worker-http", daemon=True).start()
    try:
        the_worker.run(stop)
    finally:
        if http is not None:
            http.should_exit = True
        store.close()
