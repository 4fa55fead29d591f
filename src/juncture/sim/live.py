"""Live mode: the simulated retailer drives a running server in real time (or faster).

The simulation starts at the wall time of the run. Every ``tick_s`` it is advanced to
``elapsed x speed`` past its start, and the messages that fell due go to ``/v1/batch``
(:func:`juncture.sim.http.send_live`). Each message is stamped with the wall time at which
it fell due, ``start + (simulated - start) / speed``: at speed 1 that is its simulated time,
and faster the server still sees a present-day stream (compressed), never events from its
future, so its own clock, timers and entry lag behave as with real traffic.

A run stops at the first of: the simulated days are over, ``max_events`` were sent,
``max_seconds`` passed, or a batch failed after its retries (a refused write key, a server
gone). Customers do not react to the server's messages here: nothing delivers them back.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlsplit

import httpx

from juncture.sim import wire
from juncture.sim.http import SendReport, send_live
from juncture.sim.simulation import SimConfig, Simulation

Progress = Callable[[float, int], None]
REFUSED_KEY: Final = frozenset({401, 403})


class LiveError(Exception):
    """The run could not start or had to stop; ``str()`` says why, for the user."""


@dataclass(frozen=True, slots=True)
class LiveConfig:
    customers: int = 200
    days: int = 1
    seed: int = 1
    speed: float = 1.0
    max_events: int = 100_000
    max_seconds: float = 600.0
    batch_size: int = 100
    tick_s: float = 0.25


@dataclass(slots=True)
class LiveReport:
    """What was sent, how long it took, how far the simulation got, and why it stopped."""

    send: SendReport
    seconds: float
    simulated: dt.timedelta
    stopped: str


def is_loopback(url: str) -> bool:
    """Whether ``url`` names this machine (``localhost`` or a loopback address).

    >>> is_loopback("http://127.0.0.1:8765"), is_loopback("http://[::1]:80/")
    (True, True)
    >>> is_loopback("http://localhost"), is_loopback("http://10.0.0.5:8765")
    (True, False)
    """
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name: it could resolve anywhere


def check_url(url: str) -> None:
    """Raise :class:`LiveError` unless ``url`` is an absolute http(s) URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise LiveError(f"{url!r}: give the server's base URL, e.g. http://127.0.0.1:8765")


def drive(
    base_url: str,
    write_key: str,
    config: LiveConfig,
    *,
    progress: Progress | None = None,
    client: httpx.Client | None = None,
    monotonic: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> LiveReport:
    """Run the simulation against ``base_url`` as the module docstring says."""
    http = client or httpx.Client(timeout=10.0)
    try:
        _ready(http, base_url)
        start = dt.datetime.now(dt.UTC).replace(microsecond=0)
        run = _Run(base_url, write_key, config, http, start)
        began = monotonic()
        while not run.stopped:
            elapsed = monotonic() - began
            run.step(elapsed)
            if progress is not None:
                progress(run.fraction(), run.report.sent)
            if not run.stopped:
                sleep(config.tick_s)
        return LiveReport(run.report, monotonic() - began, run.simulated(), run.stopped)
    finally:
        if client is None:
            http.close()


def _ready(http: httpx.Client, base_url: str) -> None:
    url = base_url.rstrip("/") + "/healthz"
    try:
        http.get(url)
    except httpx.TransportError as exc:
        raise LiveError(
            f"no server answers at {url} ({type(exc).__name__}): start one with `juncture serve`"
        ) from exc


class _Run:
    """One live run's state between ticks."""

    def __init__(
        self,
        base_url: str,
        write_key: str,
        config: LiveConfig,
        http: httpx.Client,
        start: dt.datetime,
    ) -> None:
        self.base_url, self.write_key, self.config, self.http = base_url, write_key, config, http
        self.sim = Simulation(
            SimConfig(start=start, seed=config.seed, customers=config.customers, days=config.days)
        )
        self.start_ms = wire.to_ms(start)
        self.report = SendReport()
        self.stopped = ""

    def step(self, elapsed: float) -> None:
        if elapsed >= self.config.max_seconds:
            self.stopped = "time limit"
            return
        due = self.sim.advance(self.sim.start + dt.timedelta(seconds=elapsed * self.config.speed))
        room = self.config.max_events - self.report.sent - self.report.failed
        batch = [self._stamped(m) for m in due[:room]]
        if batch:
            self._send(batch)
        if self.stopped:
            return
        if self.report.sent + self.report.failed >= self.config.max_events:
            self.stopped = "event limit"
        elif self.sim.done:
            self.stopped = "simulation ended"

    def _send(self, batch: list[dict[str, Any]]) -> None:
        part = send_live(
            self.base_url, self.write_key, batch, self.config.batch_size, client=self.http
        )
        for field in ("batches", "sent", "failed", "retries"):
            setattr(self.report, field, getattr(self.report, field) + getattr(part, field))
        for status, count in part.statuses.items():
            self.report.statuses[status] = self.report.statuses.get(status, 0) + count
        if part.failed:
            refused = REFUSED_KEY & set(part.statuses)
            self.stopped = (
                f"the server refused the write key (HTTP {min(refused)})"
                if refused
                else f"a batch failed after retries (HTTP statuses {part.statuses or 'none'})"
            )

    def _stamped(self, message: dict[str, Any]) -> dict[str, Any]:
        """The message stamped with the wall time at which it fell due (module docstring)."""
        simulated = wire.to_ms(dt.datetime.fromisoformat(message["timestamp"]))
        wall = self.start_ms + int((simulated - self.start_ms) / self.config.speed)
        return {**message, "timestamp": wire.iso(wall)}

    def fraction(self) -> float:
        total = (self.sim.end - self.sim.start).total_seconds()
        return min(1.0, (self.sim.now - self.sim.start).total_seconds() / total)

    def simulated(self) -> dt.timedelta:
        return self.sim.now - self.sim.start
