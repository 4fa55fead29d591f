"""A small seeded demo served for the dashboard's tests: ``juncture demo``'s simulation
(a few dozen customers over a few days, about a second) on a fresh SQLite file, then the real
server over it on a loopback port, shared by a test session."""

from __future__ import annotations

import asyncio
import datetime as dt
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import orjson

from juncture import wiring
from juncture.channels.base import DeliveryResult
from juncture.channels.recording import RecordingChannel
from juncture.core.journeys.orchestrate import Message
from juncture.demo import harness
from juncture.runtime.clock import ManualClock
from juncture.runtime.dispatcher import Dispatcher
from juncture.runtime.retry_policy import RetryPolicy
from juncture.store.outbox import Outbox
from tests.conftest import ADMIN, ADMIN_TOKEN, BASIC, LiveServer, settings_for

CUSTOMERS, DAYS = 150, 7
SEED = 3  # the simulation's, and so its catalogue's
SUMMARY = "summary.json"  # the demo's summary, beside its database
SEGMENT = "geographic_dach"  # a library segment the demo's customers fall into


def demo_database(template: Path, folder: Path) -> str:
    """The demo's database, seeded on a thread of its own: the simulation runs an asyncio
    loop, and Playwright's synchronous API may already run one on this thread."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(_seed, template, folder).result()


def _seed(template: Path, folder: Path) -> str:
    path = folder / "demo.db"
    shutil.copy(template, path)
    url = f"sqlite:///{path}"
    juncture, clock = harness.build(settings_for(url, sqlite_synchronous="NORMAL"))
    try:
        found = harness.run(juncture, clock, seed=SEED, customers=CUSTOMERS, days=DAYS)
        dead_letter(juncture.store.outbox, clock.now())
    finally:
        juncture.close()
    (folder / SUMMARY).write_bytes(orjson.dumps(found.to_json()))
    return url


def summary(url: str) -> dict[str, Any]:
    """The summary the demo at ``url`` printed (``juncture demo``'s figures)."""
    found: dict[str, Any] = orjson.loads(
        (Path(url.removeprefix("sqlite:///")).parent / SUMMARY).read_bytes()
    )
    return found


def dead_letter(outbox: Outbox, now: dt.datetime) -> None:
    """One push message the provider refuses for good: a dead letter in the delivery log."""
    payload = {"recipient": {"token": "device-token"}, "profile": {}}
    outbox.insert([Message("dash-dead-1", "p_dead", "push", "marketing", now, payload, "welcome")])
    refused = DeliveryResult.failed("push: HTTP 400: bad token", retryable=False, status_code=400)
    channels = {"push": RecordingChannel(script=[refused])}
    dispatcher = Dispatcher(outbox, channels, ManualClock(now), RetryPolicy(max_attempts=1))
    asyncio.run(dispatcher.run_once())


def quarantine(server: LiveServer) -> None:
    """A message a tracker sends without any id: refused and kept in the quarantine."""
    r = httpx.post(
        f"{server.url}/v1/batch",
        json={"batch": [{"type": "track", "event": "Product Viewed", "messageId": "dash-bad-1"}]},
        headers=BASIC,
    )
    assert r.status_code in {200, 400}, r.text


def serve(url: str) -> Iterator[LiveServer]:
    """The seeded demo served, its timers held (``juncture serve --overdue hold``): they
    are due in the demo's March, months before the wall clock, and fired now they would
    move its shoppers (their stages, and with them the segments they are in) while a page
    is read, faster or slower as the machine is busy."""
    server = LiveServer(wiring.build(settings_for(url), hold_timers=True)).start()
    try:
        source = Path(harness.__file__).parents[1] / "library/segments" / f"{SEGMENT}.yaml"
        r = httpx.post(
            f"{server.url}/v1/segments",
            json={"source": source.read_text(), "filename": source.name},
            headers=ADMIN,
            params={"at": "2026-03-09T00:00:00Z", "events": "false"},  # in the demo's time
        )
        assert r.status_code == 201, r.text
        quarantine(server)
        first_visit(server)
        yield server
    finally:
        server.stop()


def first_visit(server: LiveServer) -> None:
    """An unknown visitor's first page asks for its placements: the welcome is shown."""
    body = {"anonymousId": "dash-visitor", "placement": "home"}
    r = httpx.post(f"{server.url}/v1/decide", json=body, headers=BASIC)
    assert r.status_code == 200, r.text
    assert r.json()["show"]["kind"] == "welcome"


def sign_in(page: Any, base: str, target: str = "/app") -> None:
    """Open ``target`` in the browser, get sent to the login form, sign in, come back."""
    page.goto(base + target)
    assert "/app/login" in page.url, page.url
    page.fill("#token", ADMIN_TOKEN)
    page.click("button[type=submit]")
    page.wait_for_url(f"{base}{target}")
