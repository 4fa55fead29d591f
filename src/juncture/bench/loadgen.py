"""A lean HTTP/1.1 load generator on asyncio streams, so that the client spends as little
of the shared CPU as possible. Loopback only; bounded by the requests it is given."""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass
class LoadResult:
    seconds: float
    statuses: dict[int, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return 0.0
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def request_bytes(
    host: str,
    port: int,
    path: str,
    body: bytes,
    write_key: str,
    *,
    method: str = "POST",
    bearer: str | None = None,
) -> bytes:
    """One request, authenticated with the write key (HTTP Basic), or ``bearer`` (the admin
    token) when given."""
    auth = "Basic " + base64.b64encode(f"{write_key}:".encode()).decode()
    if bearer is not None:
        auth = f"Bearer {bearer}"
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Type: application/json\r\n"
        f"Authorization: {auth}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _read_response(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length = 0
    for line in lines[1:]:
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    if length:
        await reader.readexactly(length)
    return status


async def _worker(host: str, port: int, requests: Sequence[bytes], result: LoadResult) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for request in requests:
            started = time.perf_counter()
            writer.write(request)
            await writer.drain()
            status = await _read_response(reader)
            result.latencies.append(time.perf_counter() - started)
            result.statuses[status] = result.statuses.get(status, 0) + 1
    finally:
        writer.close()


async def run_load(host: str, port: int, requests: Sequence[bytes], concurrency: int) -> LoadResult:
    if host not in LOOPBACK:
        raise ValueError("load is only ever sent to loopback")
    result = LoadResult(seconds=0.0)
    shares = [requests[i::concurrency] for i in range(concurrency)]
    started = time.perf_counter()
    await asyncio.gather(*(_worker(host, port, share, result) for share in shares if share))
    result.seconds = time.perf_counter() - started
    return result


async def run_paced(
    host: str,
    port: int,
    requests: Sequence[bytes],
    rate: float,
    connections: int,
    *,
    until: Callable[[], bool] | None = None,
) -> LoadResult:
    """Open loop: request ``n`` is due at ``n / rate`` s (on one of ``connections``) and its
    latency counts from then, so time spent waiting behind a slow answer counts too. With
    ``until``, no request is sent once it answers true (the load lasts as long as something
    else does, ``requests`` being the most it may send)."""
    if host not in LOOPBACK:
        raise ValueError("load is only ever sent to loopback")
    result = LoadResult(seconds=0.0)
    started = time.perf_counter()

    async def worker(offset: int) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for n in range(offset, len(requests), connections):
                due = started + n / rate
                await asyncio.sleep(max(0.0, due - time.perf_counter()))
                if until is not None and until():
                    break
                writer.write(requests[n])
                await writer.drain()
                status = await _read_response(reader)
                result.latencies.append(time.perf_counter() - due)
                result.statuses[status] = result.statuses.get(status, 0) + 1
        finally:
            writer.close()

    await asyncio.gather(*(worker(i) for i in range(connections)))
    result.seconds = time.perf_counter() - started
    return result
