"""Send simulated messages to a live Juncture (or any Segment-compatible) endpoint.

Kept apart from the pure simulation: this is the only module of :mod:`juncture.sim` that
does I/O. Batches go to ``{base_url}/v1/batch`` with HTTP Basic auth (the write key as user
name, an empty password) and ``sentAt`` stamped when each batch leaves. Server errors and
connection failures are retried a bounded number of times with a growing pause.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

import httpx

from juncture.sim import wire

Clock = Callable[[], dt.datetime]
Sleep = Callable[[float], None]


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(slots=True)
class SendReport:
    """What happened to the messages: accepted, rejected by status, retries made."""

    batches: int = 0
    sent: int = 0
    failed: int = 0
    retries: int = 0
    statuses: dict[int, int] = field(default_factory=dict)


def send_live(
    base_url: str,
    write_key: str,
    messages: Iterable[dict[str, Any]],
    batch_size: int = 100,
    *,
    attempts: int = 4,
    backoff_s: float = 0.2,
    client: httpx.Client | None = None,
    clock: Clock = _utc_now,
    sleep: Sleep = time.sleep,
) -> SendReport:
    """POST ``messages`` in batches; a batch that still fails after ``attempts`` is counted."""
    report = SendReport()
    http = client or httpx.Client(timeout=10.0)
    sender = _Sender(
        http, base_url.rstrip("/") + "/v1/batch", write_key, attempts, backoff_s, clock, sleep
    )
    try:
        for batch in _chunks(messages, batch_size):
            sender.send(batch, report)
    finally:
        if client is None:
            http.close()
    return report


@dataclass(frozen=True, slots=True)
class _Sender:
    http: httpx.Client
    url: str
    write_key: str
    attempts: int
    backoff_s: float
    clock: Clock
    sleep: Sleep

    def send(self, batch: list[dict[str, Any]], report: SendReport) -> None:
        report.batches += 1
        for attempt in range(self.attempts):
            if attempt:
                report.retries += 1
                self.sleep(self.backoff_s * 2 ** (attempt - 1))
            body = {"batch": batch, "sentAt": wire.iso(wire.to_ms(self.clock()))}
            try:
                response = self.http.post(self.url, json=body, auth=(self.write_key, ""))
            except httpx.TransportError:
                continue
            status = response.status_code
            report.statuses[status] = report.statuses.get(status, 0) + 1
            if status < 500:
                report.sent += len(batch) if status < 300 else 0
                report.failed += 0 if status < 300 else len(batch)
                return
        report.failed += len(batch)


class SendingUnknown(Exception):
    """The server did not say which channels it sends on; ``run_says``: a run would fail
    and say why itself (no server answers, the write key is refused)."""

    def __init__(self, message: str, *, run_says: bool = False) -> None:
        super().__init__(message)
        self.run_says = run_says


def sending_channels(
    base_url: str, write_key: str, client: httpx.Client | None = None
) -> list[str]:
    """The channels on which the server at ``base_url`` really reaches people
    (``GET /v1/sending`` with the write key); raises :class:`SendingUnknown` saying why when
    it does not answer that."""
    http = client or httpx.Client(timeout=10.0)
    try:
        response = http.get(base_url.rstrip("/") + "/v1/sending", auth=(write_key, ""))
    except httpx.TransportError as exc:
        raise SendingUnknown(f"no answer ({type(exc).__name__})", run_says=True) from exc
    finally:
        if client is None:
            http.close()
    if response.status_code != 200:
        refused = response.status_code in {401, 403}
        raise SendingUnknown(f"GET /v1/sending answered {response.status_code}", run_says=refused)
    channels = response.json().get("channels")
    if not isinstance(channels, list):
        raise SendingUnknown("GET /v1/sending did not list channels")
    return [str(c) for c in channels]


def _chunks(messages: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    iterator = iter(messages)
    while chunk := list(islice(iterator, size)):
        yield chunk


def paced(
    messages: Iterable[dict[str, Any]],
    speedup: float = 1.0,
    *,
    clock: Callable[[], float] = time.monotonic,
    sleep: Sleep = time.sleep,
) -> Iterator[dict[str, Any]]:
    """Yield messages as their timestamps come due, ``speedup`` times faster than real time.

    The first message goes at once; each later one waits until its offset from the first,
    divided by ``speedup``, has passed on ``clock``. Timestamps are left as they are.
    """
    origin_ms: int | None = None
    began = clock()
    for message in messages:
        ms = wire.to_ms(dt.datetime.fromisoformat(message["timestamp"]))
        if origin_ms is None:
            origin_ms = ms
        due = began + (ms - origin_ms) / 1000 / speedup
        pause = due - clock()
        if pause > 0:
            sleep(pause)
        yield message
