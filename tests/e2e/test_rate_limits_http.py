"""Rate limits on the tracking API over real HTTP: a write key or a client address over its
rate gets 429 with Retry-After and a JSON body saying which; nothing it sent before is
lost, and Segment's own client, which backs off on 429, gets every event in."""

from __future__ import annotations

import httpx
from segment.analytics.client import Client

from juncture import wiring
from tests.conftest import WRITE_KEY, LiveServer, settings_for, stored


def _track(n: int) -> dict[str, object]:
    return {"userId": "u-r", "event": "Product Viewed", "messageId": f"r-{n}"}


def test_a_key_over_its_rate_is_told_when_to_come_back(database_url: str) -> None:
    settings = settings_for(database_url, rate_limit_per_key=2, rate_limit_burst=3)
    server = LiveServer(wiring.build(settings)).start()
    try:
        with httpx.Client(auth=(WRITE_KEY, "")) as client:
            answers = [client.post(f"{server.url}/v1/track", json=_track(n)) for n in range(6)]
        codes = [a.status_code for a in answers]
        assert codes[:3] == [200, 200, 200] and 429 in codes[3:]
        limited = next(a for a in answers if a.status_code == 429)
        assert int(limited.headers["Retry-After"]) >= 1
        assert limited.json()["code"] == "rate_limited"
        assert limited.json()["where"] == "write key"
        accepted = {f"r-{n}" for n, a in enumerate(answers) if a.status_code == 200}
        assert {e["messageId"] for e in stored(server, userId="u-r")} == accepted
    finally:
        server.stop()


def test_segment_s_client_backs_off_and_gets_every_event_in(database_url: str) -> None:
    settings = settings_for(database_url, rate_limit_per_address=4, rate_limit_burst=2)
    server = LiveServer(wiring.build(settings)).start()
    errors: list[Exception] = []
    client = Client(
        WRITE_KEY,
        host=server.url,
        max_retries=10,
        upload_size=1,
        on_error=lambda e, _b: errors.append(e),
    )
    try:
        for n in range(8):
            client.track("u-s", "Product Viewed", {"n": n}, message_id=f"s-{n}")
        client.flush()
        client.join()
        assert errors == []
        assert {e["messageId"] for e in stored(server, userId="u-s")} == {
            f"s-{n}" for n in range(8)
        }
        metrics = httpx.get(f"{server.url}/metrics").text
        limited = [m for m in metrics.splitlines() if 'status="429"' in m and "requests_total" in m]
        assert limited and float(limited[0].split()[-1]) > 0  # it was held back, and came back
    finally:
        server.stop()


def test_no_limit_unless_configured(database_url: str) -> None:
    server = LiveServer(wiring.build(settings_for(database_url))).start()
    try:
        with httpx.Client(auth=(WRITE_KEY, "")) as client:
            codes = {
                client.post(f"{server.url}/v1/track", json=_track(n)).status_code for n in range(30)
            }
        assert codes == {200}
    finally:
        server.stop()
