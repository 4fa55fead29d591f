"""``juncture lag``: how far the engine is behind the log, as ``/metrics`` says it. With
the distributed log (``JUNCTURE_LOG_URL``), each partition too: the position its workers
committed, the events after it and the age of the oldest, whether a worker owns it."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated

import typer

from juncture.cli.options import DatabaseUrl

if TYPE_CHECKING:
    import datetime as dt

    from juncture.runtime.log_lag import PartitionLag
    from juncture.settings import Settings
    from juncture.store.sql import SqlStore


def applied_later(settings: Settings, events: int) -> None:
    """After a command stored ``events`` client events in the log with the engine behind it
    (the default): say that the engine applies them, not this command."""
    if events and settings.engine and settings.engine_mode == "behind":
        typer.echo(
            f"{events:,} events are in the log: the engine applies them behind it, in "
            "`juncture serve` (or `juncture engine`; `juncture engine --drain` applies "
            "them and exits); `juncture lag` shows how far it is"
        )


def lag(
    database_url: DatabaseUrl = None,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object")] = False,
) -> None:
    """Show how far the engine (each partition's worker) is behind the log."""
    from juncture import settings as settings_module
    from juncture import wiring
    from juncture.runtime.clock import SystemClock

    flags = {"database_url": database_url} if database_url else {}
    settings = settings_module.load(**flags, auto_migrate=False)
    store = wiring.open_store(settings)
    try:
        now = SystemClock().now()
        events, seconds, parts = _measure(settings, store, now)
    finally:
        store.close()
    if as_json:
        rows = [p.json(now) | {"position": p.position} for p in parts]
        typer.echo(json.dumps({"events": events, "seconds": seconds, "partitions": rows}))
        return
    if parts:
        typer.echo(f"{'partition':>9} {'position':>20} {'events':>8} {'seconds':>9}  worker")
    for p in parts:
        owned = "yes" if p.owned else "none"
        typer.echo(
            f"{p.partition:>9} {p.position:>20} {p.events:>8} {p.seconds(now):>9.3f}  {owned}"
        )
    typer.echo(f"behind: {events} events, {seconds} s")


def _measure(
    settings: Settings, store: SqlStore, now: dt.datetime
) -> tuple[int, float, list[PartitionLag]]:
    """Events behind and the oldest's age in seconds, in all, and each partition's lag
    (none with the embedded log; inline, the engine is never behind)."""
    from juncture import wiring
    from juncture.runtime.follower import ENGINE

    log_ = wiring.open_log(settings)
    if log_ is not None:
        try:
            parts = wiring.log_lag(settings, store, log_).partitions()
        finally:
            log_.close()
        oldest = max((p.seconds(now) for p in parts), default=0.0)
        return sum(p.events for p in parts), round(oldest, 3), parts
    if not (settings.engine and settings.engine_mode == "behind"):
        return 0, 0.0, []
    positions = store.log_positions
    behind = positions.behind(positions.position(ENGINE))
    return behind.events, round(behind.seconds(now), 3), []
