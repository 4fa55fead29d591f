"""The engine behind the log over real HTTP: Segment's own client sends, the 200 comes
without waiting for the engine, reads that ask for it see their writes, and the lag is in
/metrics and /readyz; a server killed mid-stream loses no acknowledged event and applies
none twice after its restart."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from segment.analytics.client import Client

from juncture import wiring
from juncture.store.sql import SqlStore
from juncture.testing import ServerProcess
from tests import crash
from tests.conftest import (
    ADMIN,
    ADMIN_TOKEN,
    WRITE_KEY,
    LiveServer,
    settings_for,
    signed,
    slow_engine,
)

BEHIND = {
    "JUNCTURE_WRITE_KEYS": WRITE_KEY,
    "JUNCTURE_ADMIN_TOKEN": ADMIN_TOKEN,
    "JUNCTURE_ENGINE_MODE": "behind",
}


@pytest.fixture
def live_behind(database_url: str) -> Iterator[LiveServer]:
    server = LiveServer(
        wiring.build(settings_for(database_url, engine_mode="behind", engine_process=False))
    ).start()
    yield server
    server.stop()


def test_a_read_that_asks_sees_the_cart_just_added(live_behind: LiveServer) -> None:
    errors: list[Exception] = []
    client = Client(
        WRITE_KEY, host=live_behind.url, sync_mode=True, on_error=lambda e, _b: errors.append(e)
    )
    client.identify("shopper-9", {"email": "nine@example.com"})
    client.track(
        "shopper-9",
        "Product Added",
        {"cart_id": "c-9", "product_id": "P1", "sku": "S1", "price": 25.0, "quantity": 2},
    )
    client.flush()
    assert errors == []
    found = httpx.get(
        f"{live_behind.url}/v1/profiles",
        params={"userId": "shopper-9", "consistent": "true"},
        headers=ADMIN,
    )
    assert found.status_code == 200, found.text
    assert found.headers["Juncture-Caught-Up"] == "true"
    [profile] = found.json()["profiles"]
    assert profile["cart"]["quantity"] == 2
    assert [i["productId"] for i in profile["cart"]["items"]] == ["P1"]
    decided = httpx.post(
        f"{live_behind.url}/v1/decide",
        params={"consistent": "true"},
        json={"userId": "shopper-9", "userHash": signed("shopper-9"), "placement": "cart"},
        auth=(WRITE_KEY, ""),
    )
    assert decided.status_code == 200, decided.text
    assert decided.headers["Juncture-Caught-Up"] == "true"
    metrics = httpx.get(f"{live_behind.url}/metrics").text
    assert "juncture_engine_lag_events 0.0" in metrics
    assert "juncture_engine_up 1.0" in metrics
    assert httpx.get(f"{live_behind.url}/readyz").status_code == 200


def test_a_read_that_asks_sees_what_another_server_took(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two servers on one database behind a load balancer: the shop's event reaches one,
    its read the other. The read that asks waits for the event too, though its own server
    did not take it (the engine here is slow, so that a read that did not wait would miss
    it every time)."""
    slow_engine(monkeypatch, 0.5)
    reader = LiveServer(
        wiring.build(settings_for(database_url, engine_mode="behind", engine_process=False))
    ).start()
    taker = LiveServer(wiring.build(settings_for(database_url, engine=False))).start()
    try:
        with httpx.Client(timeout=30) as client:
            posted = client.post(
                f"{taker.url}/v1/identify",
                json={"userId": "u-lb", "traits": {"email": "lb@example.com"}},
                auth=(WRITE_KEY, ""),
            )
            assert posted.status_code == 200, posted.text
            found = client.get(
                f"{reader.url}/v1/profiles",
                params={"userId": "u-lb", "consistent": "true"},
                headers=ADMIN,
            )
        assert found.status_code == 200, found.text
        assert found.headers["Juncture-Caught-Up"] == "true"
        [profile] = found.json()["profiles"]
        assert profile["traits"]["email"] == "lb@example.com"
    finally:
        taker.stop()
        reader.stop()


def test_readyz_says_when_the_engine_is_too_far_behind(database_url: str) -> None:
    juncture = wiring.build(
        settings_for(database_url, engine_mode="behind", engine_process=False, engine_max_lag=5)
    )
    server = LiveServer(juncture).start()
    try:
        assert juncture.follower is not None
        juncture.follower.stop()  # the engine is down; the log goes on taking events
        # the consistent read waits its bound; a loaded machine adds to it
        with httpx.Client(timeout=30) as patient:
            posted = patient.post(
                f"{server.url}/v1/track",
                json={
                    "userId": "u1",
                    "event": "Product Viewed",
                    "timestamp": "2026-01-01T00:00:00Z",
                },
                auth=(WRITE_KEY, ""),
            )
            assert posted.status_code == 200
            ready = patient.get(f"{server.url}/readyz")
            assert ready.status_code == 503
            assert ready.json()["code"] == "engine_not_ready"
            found = patient.get(
                f"{server.url}/v1/profiles",
                params={"userId": "u1", "consistent": "true"},
                headers=ADMIN,
            )
        assert found.status_code == 404  # not applied: the wait ran out and said so
    finally:
        server.stop()


@pytest.mark.slow
def test_sigkill_while_the_engine_is_behind_applies_every_event_exactly_once(
    database_url: str,
) -> None:
    batches = crash.batches(450, 40, visitors=13)
    server = ServerProcess(database_url, env=BEHIND).start()
    acked = crash.kill_mid_stream(server, batches, clients=3, kill_after=range(30, 200))

    retry = sorted(set(range(len(batches))) - set(acked))
    with ServerProcess(database_url, env=BEHIND) as again, httpx.Client(auth=(WRITE_KEY, "")) as c:
        for index in retry:
            assert c.post(f"{again.url}/v1/batch", json=batches[index]).status_code == 200
        caught = httpx.get(
            f"{again.url}/v1/profiles",
            params={"anonymousId": "a0", "consistent": "true"},
            headers=ADMIN,
        )
        assert caught.status_code == 200
        deadline = time.monotonic() + 120
        store = SqlStore(database_url)
        try:
            positions = store.log_positions
            while positions.behind(positions.position("engine")).events and (
                time.monotonic() < deadline
            ):
                time.sleep(0.2)
            _check_exactly_once(store, batches)
        finally:
            store.close()


def _check_exactly_once(store: SqlStore, batches: list[dict[str, Any]]) -> None:
    expected = {m["messageId"] for b in batches for m in b["batch"]}
    reads = store.profiles
    seen: set[str] = set()
    for a in range(13):
        events = [
            e for e in store.events(anonymous_id=f"a{a}", limit=100_000) if e.source != "juncture"
        ]
        seen.update(e.message_id for e in events)
        assert len({e.message_id for e in events}) == len(events), "an event stored twice"
        assert all(e.profile_id is not None for e in events), "an event never applied"
        [pid] = {e.profile_id for e in events}
        profile = reads.profile(str(pid))
        assert profile is not None
        assert profile.profile.event_counts["Product Viewed"] == len(events), "applied twice"
    assert seen == expected


def _children(pid: int) -> list[int]:
    """The live child processes of ``pid`` (started by any of its threads)."""
    found = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        for child in (task / "children").read_text().split():
            state = Path(f"/proc/{child}/stat").read_text().rsplit(")", 1)[1].split()[0]
            if state != "Z":
                found.append(int(child))
    return found


def test_serve_runs_the_engine_in_a_process_of_its_own_and_restarts_it(database_url: str) -> None:
    """``juncture serve`` starts ``juncture engine`` beside itself; killed, it is started
    again and goes on from its position; the server's own reads see its work."""
    with ServerProcess(database_url, env=BEHIND) as server:
        assert server.proc is not None
        [engine] = _children(server.proc.pid)

        def viewed(n: int) -> dict[str, object]:
            return {"userId": "u-7", "event": "Product Viewed", "messageId": f"v{n}"}

        posted = httpx.post(f"{server.url}/v1/track", json=viewed(1), auth=(WRITE_KEY, ""))
        assert posted.status_code == 200
        deadline = time.monotonic() + 60  # the engine process may still be starting
        while True:
            found = httpx.get(
                f"{server.url}/v1/profiles",
                params={"userId": "u-7", "consistent": "true"},
                headers=ADMIN,
            )
            if found.headers["Juncture-Caught-Up"] == "true" or time.monotonic() > deadline:
                break
        assert found.headers["Juncture-Caught-Up"] == "true", found.text
        assert found.json()["profiles"][0]["userIds"] == ["u-7"]
        os.kill(engine, signal.SIGKILL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not set(_children(server.proc.pid)) - {engine}:
            time.sleep(0.1)
        [again] = _children(server.proc.pid)
        assert again != engine  # started again by the server
        posted = httpx.post(f"{server.url}/v1/track", json=viewed(2), auth=(WRITE_KEY, ""))
        assert posted.status_code == 200
        store = SqlStore(database_url)
        try:
            deadline = time.monotonic() + 60
            positions = store.log_positions
            while positions.position("engine") < 2 and time.monotonic() < deadline:
                time.sleep(0.1)
            events = store.events(user_id="u-7", derived=False)
            assert [e.profile_id is not None for e in events] == [True, True]
        finally:
            store.close()
        deadline = time.monotonic() + 30  # it says it runs once it applies the log
        while "juncture_engine_up 1.0" not in (metrics := httpx.get(f"{server.url}/metrics").text):
            assert time.monotonic() < deadline, metrics
            time.sleep(0.1)
    assert not Path(f"/proc/{engine}").exists()
