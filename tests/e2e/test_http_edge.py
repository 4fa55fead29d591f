"""The server against clients that misbehave at the HTTP level, on a real loopback socket:
a body that stalls, a client that hangs up mid-body, and an error nobody expected. Each is
answered (or let go) in bounded time, counted in the metrics, and logged in one line that
names no person."""

from __future__ import annotations

import base64
import logging
import socket
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import orjson
import pytest

from juncture import wiring
from juncture.testing import track_message as track
from tests.conftest import ADMIN, ADMIN_TOKEN, WRITE_KEY, LiveServer, settings_for

BODY_TIMEOUT = 0.5
PERSONAL = "cust-8842917"


@pytest.fixture
def edge(database_url: str) -> Iterator[LiveServer]:
    juncture = wiring.build(settings_for(database_url, body_timeout=BODY_TIMEOUT))
    server = LiveServer(juncture).start()
    yield server
    server.stop()


def stalled(
    url: str, path: str, declared: int, sent: bytes, *, close: bool = False, auth: str = ""
) -> socket.socket:
    """A connection that declares ``declared`` bytes of body and sends only ``sent``; kept
    alive after the answer unless ``close``. ``auth``: the Authorization header's value
    (the write key by default)."""
    where = urlsplit(url)
    conn = socket.create_connection((where.hostname or "", where.port or 80), timeout=10)
    extra = "Connection: close\r\n" if close else ""
    auth = auth or "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()
    head = (
        f"POST {path} HTTP/1.1\r\nHost: {where.netloc}\r\nAuthorization: {auth}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {declared}\r\n{extra}\r\n"
    )
    conn.sendall(head.encode() + sent)
    return conn


def until_closed(conn: socket.socket) -> bytes:
    """Everything the server sends until it closes the connection (socket.timeout if not)."""
    received = b""
    while chunk := conn.recv(65536):
        received += chunk
    return received


def tracking_requests(url: str) -> dict[tuple[str, str], float]:
    text = httpx.get(f"{url}/metrics").text
    found = {}
    for line in text.splitlines():
        if line.startswith("juncture_tracking_requests_total{"):
            labels, value = line.split("} ")
            pairs = dict(p.split("=") for p in labels.split("{")[1].split(","))
            found[(pairs["endpoint"].strip('"'), pairs["status"].strip('"'))] = float(value)
    return found


def wait_for(check: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.05)


@pytest.mark.parametrize("path", ["/v1/track", "/v1/batch", "/v1/decide"])
def test_a_stalled_body_is_408_json_and_the_connection_is_closed(
    edge: LiveServer, path: str
) -> None:
    started = time.monotonic()
    with stalled(edge.url, path, 1000, b'{"userId":') as conn:
        answer = until_closed(conn)
    elapsed = time.monotonic() - started
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"connection: close" in head.lower()
    error = orjson.loads(body)
    assert error["code"] == "body_timeout" and error["message"]
    assert BODY_TIMEOUT <= elapsed < BODY_TIMEOUT + 4


def test_a_stalled_journey_definition_is_408_too(edge: LiveServer) -> None:
    admin = f"Bearer {ADMIN_TOKEN}"
    with stalled(edge.url, "/v1/journeys/validate", 1000, b"id:", auth=admin) as conn:
        answer = until_closed(conn)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]


def test_a_stalled_body_is_counted(edge: LiveServer) -> None:
    with stalled(edge.url, "/v1/track", 1000, b"{") as conn:
        until_closed(conn)
    assert tracking_requests(edge.url)[("track", "408")] == 1


def test_a_body_that_arrives_in_time_is_taken(edge: LiveServer) -> None:
    body = orjson.dumps(track())
    with stalled(edge.url, "/v1/track", len(body), body[:5], close=True) as conn:
        time.sleep(BODY_TIMEOUT / 5)
        conn.sendall(body[5:])
        answer = until_closed(conn)
    assert answer.startswith(b"HTTP/1.1 200"), answer[:200]
    assert answer.endswith(b'{"success":true}')


def test_a_client_gone_mid_body_is_one_line_and_counted_499(
    edge: LiveServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    conn = stalled(edge.url, "/v1/batch", 1000, f'{{"batch":[{{"userId":"{PERSONAL}"'.encode())
    conn.close()
    wait_for(lambda: tracking_requests(edge.url).get(("batch", "499")) == 1)
    ours = server_records(caplog)
    assert not [r for r in ours if r.levelno >= logging.WARNING], [r.msg for r in ours]
    gone = [r for r in ours if "went away" in r.getMessage()]
    assert len(gone) == 1 and gone[0].levelno == logging.INFO and gone[0].exc_info is None
    assert PERSONAL not in "".join(r.getMessage() for r in ours)


def server_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    """What the server logged, less what ``serve`` never writes: the test's own HTTP client
    logs the URLs it asks for, and pytest hands uvicorn's access logger (off in ``serve``,
    not propagating) a handler of its own, which turns its lines back on."""
    return [
        r
        for r in caplog.records
        if r.name.startswith(("juncture", "uvicorn")) and r.name != "uvicorn.access"
    ]


def explode(*_args: object, **_kwargs: object) -> Any:
    raise RuntimeError(f"something about {PERSONAL}")


def test_an_unexpected_error_on_tracking_is_500_json_counted_and_logged_in_one_line(
    edge: LiveServer, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.INFO)
    monkeypatch.setattr(edge.juncture.ingestor, "ingest", explode)
    r = httpx.post(f"{edge.url}/v1/track", json=track(userId=PERSONAL), auth=(WRITE_KEY, ""))
    assert r.status_code == 500
    assert r.json()["code"] == "internal_error" and "RuntimeError" in r.json()["message"]
    assert tracking_requests(edge.url)[("track", "500")] == 1
    ours = server_records(caplog)
    errors = [r for r in ours if r.levelno >= logging.WARNING]
    assert len(errors) == 1, [r.getMessage() for r in errors]
    assert errors[0].getMessage() == "POST /v1/track answered 500: unexpected RuntimeError"
    assert not [r for r in ours if r.exc_info]
    assert PERSONAL not in "".join(r.getMessage() for r in ours)


def test_an_unexpected_error_on_an_admin_route_names_the_route_not_the_path(
    edge: LiveServer, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.DEBUG)
    monkeypatch.setattr(edge.juncture.store, "events", explode)
    r = httpx.get(f"{edge.url}/v1/events", params={"userId": PERSONAL}, headers=ADMIN)
    assert r.status_code == 500 and r.json()["code"] == "internal_error"
    line = "GET /v1/events answered 500: unexpected RuntimeError"
    assert [r.levelno for r in caplog.records if r.getMessage() == line] == [logging.ERROR]
    traced = [r for r in caplog.records if r.exc_info]
    assert traced and all(r.levelno == logging.DEBUG for r in traced)
    assert PERSONAL not in "".join(r.getMessage() for r in server_records(caplog))
