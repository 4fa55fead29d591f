"""Fixtures shared by every test folder.

Each test gets its own fresh database, copied from a migrated template: a file copy for
SQLite, ``CREATE DATABASE ... TEMPLATE`` for PostgreSQL. PostgreSQL tests run when
``JUNCTURE_TEST_POSTGRES_URL`` is set (``.ci/run`` sets it) and are skipped, with that
reason shown, when it is not.
"""

from __future__ import annotations

import logging
import os
import shutil
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Final

import httpx
import psycopg
import pytest
import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr

from juncture import testing, wiring
from juncture.core import proof
from juncture.runtime.clock import Clock
from juncture.settings import Settings
from juncture.store import migrate
from juncture.store.sql import SqlStore, engine_url
from tests.servers import SmtpSink

POSTGRES_URL = os.environ.get("JUNCTURE_TEST_POSTGRES_URL")
NO_POSTGRES = "JUNCTURE_TEST_POSTGRES_URL is not set: PostgreSQL contract tests skipped"
WRITE_KEY = "test-write-key"
ADMIN_TOKEN = "test-admin-token"
IDENTITY_SECRET = "test-identity-secret"
LINKS_SECRET = "test-links-secret"  # signs unsubscribe links: marketing email needs them
PUBLIC_URL = "https://juncture.test"
ADMIN = testing.bearer(ADMIN_TOKEN)  # the admin API's header
BASIC = testing.basic_auth(WRITE_KEY)  # a tracker's header


# What a test is guessed to cost, for the order below: a slow-marked one tens of seconds, one
# on a live server or real services (e2e, browser, integration) a few, a unit test next to none.
COST: Final = {"slow": 25.0, "unit": 0.1, "contract": 1.0}
OTHER_COST: Final = 4.0


@pytest.hookimpl(trylast=True)  # after pytest's own reordering
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Whole files, the costliest first (each file's tests in their order): ``scripts/test``
    hands files out in this order (``--dist loadfile --no-loadscope-reorder``), so that the
    long ones start first and the short ones fill the end, instead of a crash test starting
    last on one worker while the other has finished."""
    cost: dict[Path, float] = {}
    for item in items:
        folder = item.path.relative_to(item.config.rootpath).parts[1]
        slow = item.get_closest_marker("slow") is not None
        each = COST["slow"] if slow else COST.get(folder, OTHER_COST)
        cost[item.path] = cost.get(item.path, 0.0) + each
    items.sort(key=lambda item: -cost[item.path])  # stable: a file's tests keep their order


@pytest.fixture(autouse=True)
def _logging_as_it_was() -> Iterator[None]:
    """A CLI command run in this process (``CliRunner``) configures logging as it would in a
    process of its own: the root logger's level and handler. Put them back after each test,
    so that a test later on the same worker does not get that command's log lines."""
    root = logging.getLogger()
    level, handlers = root.level, root.handlers[:]
    yield
    root.setLevel(level)
    root.handlers[:] = handlers


ENGINE_DELAY: Final = float(os.environ.get("JUNCTURE_TEST_ENGINE_DELAY") or 0)


@pytest.fixture(autouse=True)
def _engine_behind_late(monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``JUNCTURE_TEST_ENGINE_DELAY=S`` the engine behind the log waits S seconds
    before it applies each batch: a test that reads what the engine makes without waiting
    for it (``caught_up``, ``?consistent=true``) then fails every time, not on a busy day."""
    if ENGINE_DELAY:
        slow_engine(monkeypatch, ENGINE_DELAY)


def slow_engine(monkeypatch: pytest.MonkeyPatch, seconds: float) -> None:
    """Every engine behind the log in this test waits ``seconds`` before each batch it
    applies (from now on, also the ones already running)."""
    from juncture.runtime.follower import LogFollower

    apply = LogFollower._bisect

    def late(self: LogFollower, *args: Any) -> Any:
        time.sleep(seconds)
        return apply(self, *args)

    monkeypatch.setattr(LogFollower, "_bisect", late)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    store = SqlStore(f"sqlite:///{path}")
    migrate.upgrade(store.engine)
    store.close()
    return path


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "juncture.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


def _pg_admin() -> str:
    assert POSTGRES_URL is not None
    return (
        sa.make_url(engine_url(POSTGRES_URL))
        .set(drivername="postgresql")
        .render_as_string(hide_password=False)
    )


def _url_for(database: str) -> str:
    return sa.make_url(_pg_admin()).set(database=database).render_as_string(hide_password=False)


def _sql(statement: str) -> None:
    with psycopg.connect(_pg_admin(), autocommit=True) as conn:
        conn.execute(statement)


class Databases:
    """Fresh PostgreSQL databases copied from ``template``, each made while the test before
    runs and dropped after its test in a thread of their own, off the tests' clock: on a
    loaded machine ``CREATE DATABASE`` takes a second or two and ``DROP DATABASE`` (which
    forces a checkpoint) one to seven."""

    def __init__(self, template: str) -> None:
        self.template = template
        self._create = ThreadPoolExecutor(1, thread_name_prefix="test-db-create")
        # drops at once share their checkpoints
        self._drop = ThreadPoolExecutor(4, thread_name_prefix="test-db-drop")
        self._next: Future[str] | None = None
        self._dropped: list[Future[None]] = []

    def take(self) -> str:
        """A new database's name; the next one is begun at once."""
        made = self._next or self._create.submit(self._made)
        self._next = self._create.submit(self._made)
        return made.result()

    def drop(self, name: str) -> None:
        self._dropped.append(
            self._drop.submit(_sql, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        )

    def close(self) -> None:
        """Drop the one made ahead and wait for every drop (the first that failed raises)."""
        if self._next is not None:
            with suppress(psycopg.Error):
                self.drop(self._next.result())
        self._create.shutdown()
        self._drop.shutdown()
        for dropped in self._dropped:
            dropped.result()

    def _made(self) -> str:
        name = f"juncture_t_{uuid.uuid4().hex[:12]}"
        _sql(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
        return name


@pytest.fixture(scope="session")
def postgres_databases() -> Iterator[Databases]:
    if POSTGRES_URL is None:
        pytest.skip(NO_POSTGRES)
    name = f"juncture_tpl_{uuid.uuid4().hex[:10]}"
    _sql(f'CREATE DATABASE "{name}"')
    store = SqlStore(_url_for(name))
    migrate.upgrade(store.engine)
    store.close()
    databases = Databases(name)
    yield databases
    databases.close()
    _sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_url(postgres_databases: Databases) -> Iterator[str]:
    name = postgres_databases.take()
    yield _url_for(name)
    postgres_databases.drop(name)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest) -> str:
    """A fresh database of every kind this run can reach."""
    return str(request.getfixturevalue(f"{request.param}_url"))


@pytest.fixture
def store(database_url: str) -> Iterator[SqlStore]:
    s = SqlStore(database_url)
    yield s
    s.close()


def settings_for(database_url: str, **extra: Any) -> Settings:
    return Settings(
        database_url=database_url,
        write_keys=WRITE_KEY,
        admin_token=ADMIN_TOKEN,
        auto_migrate=False,
        **{
            "identity_secret": IDENTITY_SECRET,
            "links_secret": LINKS_SECRET,
            "public_url": PUBLIC_URL,
            "engine_process": False,
            **extra,
        },
    )


def signed(user_id: str) -> str:
    """The user hash a retailer's backend puts in the page for ``user_id`` (POST /v1/decide
    trusts a userId only with it)."""
    return proof.user_hash(IDENTITY_SECRET, user_id)


CATCH_UP: Final = 60.0  # seconds a test waits, at most, for the engine behind the log


def caught_up(juncture: wiring.Juncture, timeout: float = CATCH_UP) -> None:
    """Wait until the engine has applied every event accepted so far, as a client that reads
    right after its writes asks with ``?consistent=true`` (inline, it had in each commit).
    Each wait is the engine's own bound (``JUNCTURE_CONSISTENT_READ_WAIT``), retried up to
    ``timeout``: a loaded machine may take longer than a shopper would wait."""
    engine = juncture.engine_behind()
    if engine is None:
        return
    deadline = time.monotonic() + timeout
    while not engine.catch_up():
        assert time.monotonic() < deadline, f"the engine did not catch up in {timeout} s"


class LiveServer:
    """The real app on a real uvicorn server, in this process, on a loopback port."""

    def __init__(self, juncture: wiring.Juncture, app: FastAPI | None = None) -> None:
        self.juncture = juncture
        config = uvicorn.Config(
            app or juncture.app(),
            host="127.0.0.1",
            port=0,
            log_config=None,
            access_log=False,
            loop="asyncio",
            lifespan="off",
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def start(self) -> LiveServer:
        # ready (as /readyz says) once the slow libraries are in: the app started them
        preload = self.juncture.preload
        self.thread.start()
        deadline = time.monotonic() + 120
        while not self.server.started or preload.pending:
            if time.monotonic() > deadline:
                raise RuntimeError("test server did not start")
            time.sleep(0.01)
        return self

    @property
    def url(self) -> str:
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)
        self.juncture.close()


@contextmanager
def mail_server(
    database_url: str, clock: Clock | None = None, **extra: Any
) -> Iterator[tuple[LiveServer, SmtpSink]]:
    """A live server whose dispatcher sends email to a local SMTP server (``extra``: more
    settings), both stopped afterwards."""
    sink = SmtpSink().start()
    settings = settings_for(
        database_url,
        smtp_url=SecretStr(sink.url),
        email_from="Shop <shop@example.com>",
        dispatch_interval=0.05,
        **extra,
    )
    server = LiveServer(wiring.build(settings, clock=clock)).start()
    server.juncture.start_dispatcher()
    try:
        yield server, sink
    finally:
        server.stop()
        sink.stop()


def stored(live: LiveServer, **query: str) -> list[dict[str, Any]]:
    """The events the client sent that the server stored (``GET /v1/events``), without the
    engine's derived events."""
    params = {"derived": "false", **query}
    r = httpx.get(f"{live.url}/v1/events", params=params, headers=ADMIN)
    assert r.status_code == 200, r.text
    return list(r.json()["events"])


@pytest.fixture
def live(database_url: str) -> Iterator[LiveServer]:
    server = LiveServer(wiring.build(settings_for(database_url))).start()
    yield server
    server.stop()
