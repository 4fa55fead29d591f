"""Past one machine, the ingestion node crashes: `juncture serve` processes append to the
distributed log (NATS JetStream, and Redis Streams once) while a `juncture worker` applies
it on PostgreSQL; SIGKILL a server at a random moment under load, five times (clients go
on through the others and send again what was not answered): no acknowledged event is
lost, none is applied twice (profile counters exact), and the lag comes back to zero.
The servers and the worker run the command's own code in processes forked from one that
imported Juncture once (``tests.distributed.forked``): six start in seconds, not minutes."""

from __future__ import annotations

import random
import threading
import time
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from juncture import wiring
from juncture.core.profile.reducer import DERIVED_SOURCE
from juncture.settings import Settings
from juncture.store import tables
from juncture.store.sql import SqlStore
from tests.conftest import WRITE_KEY
from tests.distributed import PARTITIONS, applied, forked, log_settings, serve_forked, track

__all__ = ["log_settings"]  # the fixture, for pytest
pytestmark = pytest.mark.slow
KILLS = {"nats": 5, "redis": 1}  # five on the supported log; once on Redis
BATCH = 40


class Traffic:
    """Clients sending batches of product views to whichever servers are up; a batch not
    answered 200 is kept to be sent again."""

    def __init__(self, servers: list[str], seed: int) -> None:
        self.servers = servers  # their URLs
        self.acked: list[list[str]] = []  # the messageIds of each batch answered 200
        self.unanswered: list[dict[str, Any]] = []
        self.in_flight: dict[int, str] = {}  # each client's server while it waits
        self.stop = threading.Event()
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._next = 0  # the number of the next message

    def batch(self) -> dict[str, Any]:
        with self._lock:
            first, self._next = self._next, self._next + BATCH
        return {"batch": [track(n, anonymous=f"a{n % 53}") for n in range(first, first + BATCH)]}

    def send(self) -> None:
        with httpx.Client(auth=(WRITE_KEY, ""), timeout=10) as client:
            while not self.stop.is_set():
                body = self.batch()
                with self._lock:
                    url = self._rng.choice(self.servers)
                    self.in_flight[threading.get_ident()] = url
                try:
                    answered = client.post(f"{url}/v1/batch", json=body).status_code == 200
                except httpx.TransportError:
                    answered = False
                with self._lock:
                    del self.in_flight[threading.get_ident()]
                    if answered:
                        self.acked.append([m["messageId"] for m in body["batch"]])
                    else:
                        self.unanswered.append(body)

    def take_one(self, rng: random.Random) -> str:
        """A server the clients no longer choose (they go on with the others): one that a
        request waits on, if any."""
        with self._lock:
            busy = sorted(set(self.in_flight.values()) & set(self.servers))
            url = rng.choice(busy or self.servers)
            self.servers.remove(url)
            return url

    def events(self) -> int:
        with self._lock:
            return len(self.acked) * BATCH


@pytest.fixture
def env(postgres_url: str, log_settings: dict[str, Any]) -> dict[str, str]:
    return {
        "JUNCTURE_WRITE_KEYS": WRITE_KEY,
        "JUNCTURE_DATABASE_URL": postgres_url,
        "JUNCTURE_LOG_URL": log_settings["log_url"],
        "JUNCTURE_LOG_NAME": log_settings["log_name"],
        "JUNCTURE_LOG_PARTITIONS": str(PARTITIONS),
        "JUNCTURE_AUTO_MIGRATE": "false",
        "JUNCTURE_RECS_TRAIN_EVERY": "0",  # six servers training at once: CPU for nothing
        "JUNCTURE_LOG_LEVEL": "warning",
    }


def _start_all(env: dict[str, str], count: int) -> dict[str, Any]:
    """``count`` servers started at once: their processes by URL."""
    started: dict[str, Any] = {}
    errors: list[Exception] = []

    def start() -> None:
        try:
            url, process = serve_forked(env)
            started[url] = process
        except RuntimeError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    return started


def _wait(what: str, check: Any, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout} s")
        time.sleep(0.05)


@pytest.mark.timeout(600)
def test_sigkill_an_ingestion_node_at_random_moments_under_load(
    postgres_url: str, env: dict[str, str]
) -> None:
    kills = KILLS[env["JUNCTURE_LOG_URL"].split(":", 1)[0]]
    worker = forked(["worker"], env)
    settings = Settings(
        database_url=postgres_url,
        log_url=env["JUNCTURE_LOG_URL"],
        log_name=env["JUNCTURE_LOG_NAME"],
        log_partitions=PARTITIONS,
    )
    store = SqlStore(postgres_url)
    log = wiring.open_log(settings)
    assert log is not None
    lag = wiring.log_lag(settings, store, log)
    servers: dict[str, Any] = {}
    traffic = Traffic([], seed=19)
    senders = [threading.Thread(target=traffic.send) for _ in range(2)]
    rng = random.Random(19)
    try:
        servers = _start_all(env, kills + 1)
        traffic.servers = sorted(servers)
        for sender in senders:
            sender.start()
        for kill in range(kills):
            _wait("load", lambda k=kill: traffic.events() >= 400 * (k + 1), 120)
            time.sleep(rng.uniform(0, 0.3))
            servers[traffic.take_one(rng)].kill()  # in flight: unanswered, sent again
        _wait("load on the survivor", lambda: traffic.events() >= 400 * (kills + 1), 120)
        traffic.stop.set()
        for sender in senders:
            sender.join()
        [survivor] = traffic.servers
        if kills > 1:  # one kill may find the answer already sent
            assert traffic.unanswered, "no kill caught a request in flight"
        with httpx.Client(auth=(WRITE_KEY, ""), timeout=10) as client:
            for body in traffic.unanswered:  # a client's retry, with the same messageIds
                assert client.post(f"{survivor}/v1/batch", json=body).status_code == 200
        _wait("the lag back to zero", lambda: lag.lag().events == 0, 120)
        _check(store, traffic)
    finally:
        traffic.stop.set()
        for sender in senders:
            if sender.is_alive():
                sender.join(30)
        for process in [*servers.values(), worker]:
            process.kill()
            process.join(30)
        log.close()
        store.close()


def _check(store: SqlStore, traffic: Traffic) -> None:
    """Every acknowledged event stored, and the ones sent again; each once, each counted
    once on its profile."""
    e = tables.events
    with store.engine.connect() as conn:
        stored = conn.execute(
            sa.select(e.c.message_id).where(e.c.source != DERIVED_SOURCE)
        ).scalars().all()  # fmt: skip
    acked = {m for batch in traffic.acked for m in batch}
    again = {m["messageId"] for body in traffic.unanswered for m in body["batch"]}
    assert len(stored) == len(set(stored)), "an event stored twice"
    assert set(stored) == acked | again  # none lost, none invented
    counts = applied(store)
    assert sum(s for _, s in counts.values()) == len(stored)
    assert all(counted == s for counted, s in counts.values()), "an event applied twice"
