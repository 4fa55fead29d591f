from __future__ import annotations

import base64
import datetime as dt
import json
import subprocess
import sys

import httpx

from juncture.sim import http as live

NOW = dt.datetime(2026, 3, 2, 12, tzinfo=dt.UTC)


def _messages(n: int) -> list[dict[str, object]]:
    return [
        {
            "type": "track",
            "messageId": f"m{i}",
            "anonymousId": "a",
            "event": "Product Viewed",
            "timestamp": f"2026-03-02T12:00:{i % 60:02d}.000Z",
        }
        for i in range(n)
    ]


def test_batches_with_basic_auth_and_sent_at() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"success": True})

    client = httpx.Client(transport=httpx.MockTransport(handler))
    report = live.send_live(
        "http://juncture.test/", "wk_1", _messages(250), 100, client=client, clock=lambda: NOW
    )
    assert (report.batches, report.sent, report.failed) == (3, 250, 0)
    assert str(seen[0].url) == "http://juncture.test/v1/batch"
    expected = "Basic " + base64.b64encode(b"wk_1:").decode()
    assert seen[0].headers["authorization"] == expected
    body = json.loads(seen[0].content)
    assert len(body["batch"]) == 100
    assert body["sentAt"] == "2026-03-02T12:00:00.000Z"


def test_retries_server_errors_then_gives_up() -> None:
    calls: list[int] = []
    pauses: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        if len(calls) == 1:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(503)

    client = httpx.Client(transport=httpx.MockTransport(handler))
    report = live.send_live(
        "http://juncture.test", "k", _messages(5), client=client, attempts=3, sleep=pauses.append
    )
    assert len(calls) == 3
    assert report.failed == 5
    assert report.retries == 2
    assert pauses == [0.2, 0.4]


def test_client_errors_are_not_retried() -> None:
    client = httpx.Client(transport=httpx.MockTransport(lambda _: httpx.Response(401)))
    report = live.send_live("http://juncture.test", "bad", _messages(3), client=client)
    assert (report.sent, report.failed, report.retries) == (0, 3, 0)


def test_paced_replays_in_scaled_time() -> None:
    now = [100.0]
    pauses: list[float] = []

    def sleep(seconds: float) -> None:
        pauses.append(round(seconds, 3))
        now[0] += seconds

    out = list(live.paced(_messages(3), speedup=10, clock=lambda: now[0], sleep=sleep))
    assert len(out) == 3
    assert pauses == [0.1, 0.1]


def test_the_pure_simulation_does_not_import_httpx() -> None:
    code = "import sys, juncture.sim; sys.exit('httpx' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
