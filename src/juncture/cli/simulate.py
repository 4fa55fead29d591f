"""``juncture simulate``: the simulated retailer as live traffic against a running server.

A load generator, so it speaks only to this machine unless ``--allow-remote`` is given, and
every run is bounded in events and in time (:mod:`juncture.sim.live`). Simulated customers
have addresses, so it refuses a server that really sends email, SMS or push (``GET
/v1/sending``) unless ``--yes-send`` is given.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

if TYPE_CHECKING:
    from juncture.sim import live

console = Console(stderr=True)


def simulate(
    write_key: Annotated[str, typer.Option(help="A write key the server accepts")],
    url: Annotated[str, typer.Option(help="The server's base URL")] = "http://127.0.0.1:8765",
    customers: Annotated[int, typer.Option(min=1, help="Simulated customers")] = 200,
    days: Annotated[int, typer.Option(min=1, help="Simulated days")] = 1,
    speed: Annotated[
        float, typer.Option(min=0.001, help="Simulated seconds per wall second (1: real time)")
    ] = 1.0,
    seed: Annotated[int, typer.Option(help="Same seed, same customers and messageIds")] = 1,
    max_events: Annotated[int, typer.Option(min=1, help="Stop after sending this many")] = 100_000,
    max_seconds: Annotated[
        float, typer.Option(min=0.1, help="Stop after this many wall seconds")
    ] = 600.0,
    batch_size: Annotated[int, typer.Option(min=1, max=500, help="Messages per request")] = 100,
    allow_remote: Annotated[
        bool, typer.Option("--allow-remote", help="Allow a URL that is not this machine")
    ] = False,
    yes_send: Annotated[
        bool,
        typer.Option("--yes-send", help="Run even though the server sends real email, SMS or push"),
    ] = False,
) -> None:
    """Drive a running server with simulated shoppers over the Segment HTTP API, paced in
    real time (--speed to accelerate)."""
    from juncture.sim import live

    try:
        live.check_url(url)
    except live.LiveError as exc:
        raise typer.BadParameter(str(exc), param_hint="--url") from exc
    if not allow_remote and not live.is_loopback(url):
        raise typer.BadParameter(
            "not this machine: this is a load generator; pass --allow-remote to send there",
            param_hint="--url",
        )
    if not yes_send:
        _refuse_real_sending(url, write_key)
    config = live.LiveConfig(
        customers=customers, days=days, seed=seed, speed=speed, max_events=max_events,
        max_seconds=max_seconds, batch_size=batch_size,
    )  # fmt: skip
    try:
        report = _run(url, write_key, config)
    except live.LiveError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    sent = report.send
    typer.echo(
        f"sent {sent.sent:,} events in {sent.batches:,} batches to {url} in "
        f"{report.seconds:.1f} s ({report.simulated.total_seconds() / 3600:.1f} simulated "
        f"hours): {sent.failed:,} failed, {sent.retries:,} retries; stopped: {report.stopped}"
    )
    if sent.failed:
        raise typer.Exit(1)


def _refuse_real_sending(url: str, write_key: str) -> None:
    """Simulated customers have addresses: a server that really sends would write to them.
    Exit 1, saying so, unless it sends nothing real (or ``--yes-send`` was given)."""
    from juncture.sim import http

    try:
        channels = http.sending_channels(url, write_key)
    except http.SendingUnknown as exc:
        if exc.run_says:
            return  # the run fails and says why (no server, a refused write key)
        typer.echo(f"{url}: cannot tell whether it sends real messages: {exc}; "
                   "pass --yes-send to simulate anyway", err=True)  # fmt: skip
        raise typer.Exit(1) from exc
    if channels:
        names = ", ".join(channels)
        typer.echo(f"{url} sends real messages ({names}): simulated customers would receive "
                   "them. Use a server with JUNCTURE_RECORD_CHANNELS, or pass --yes-send",
                   err=True)  # fmt: skip
        raise typer.Exit(1)


def _run(url: str, write_key: str, config: live.LiveConfig) -> live.LiveReport:
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from juncture.sim import live

    with Progress(
        TextColumn(f"simulating {config.days} days at {config.speed:g}x"),
        BarColumn(),
        TextColumn("{task.fields[sent]:,} events sent"),
        TimeElapsedColumn(),
        console=console,
    ) as bar:
        task = bar.add_task("simulate", total=1.0, sent=0)
        return live.drive(
            url,
            write_key,
            config,
            progress=lambda done, sent: bar.update(task, completed=done, sent=sent),
        )
