"""The storage port on every store: migrations through ``SqlStore``, and the store's own
errors, not SQLAlchemy's, when a database cannot answer."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from prometheus_client import CollectorRegistry

from juncture.api import journey_metrics
from juncture.errors import StoreError, StoreUnavailable
from juncture.store import dialects, failures, migrate, scratch
from juncture.store.outbox import Outbox
from juncture.store.placements import Placements
from juncture.store.sql import SqlStore
from tests.conftest import NO_POSTGRES, POSTGRES_URL


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def empty(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlStore]:
    """A store on a database with no schema at all."""
    if request.param == "sqlite":
        store = SqlStore(f"sqlite:///{tmp_path / 'empty.db'}")
        yield store
        store.close()
        return
    if POSTGRES_URL is None:
        pytest.skip(NO_POSTGRES)
    with scratch.postgres(POSTGRES_URL, "port") as url:
        store = SqlStore(url)
        yield store
        store.close()


def test_migrate_brings_an_empty_database_to_the_newest_revision(empty: SqlStore) -> None:
    assert empty.schema_revision() is None
    empty.migrate()
    assert empty.schema_revision() == migrate.head()
    assert empty.count_events() == 0


def test_journey_stats_of_a_database_without_the_schema_raise_a_store_error(
    empty: SqlStore,
) -> None:
    with pytest.raises((StoreError, StoreUnavailable)):
        empty.journeys.all_stats()


def test_the_metrics_say_journey_stats_are_down_when_the_store_cannot_answer(
    empty: SqlStore,
) -> None:
    registry = CollectorRegistry()
    journey_metrics.install(registry, empty.journeys)
    assert registry.get_sample_value("juncture_journey_stats_up") == 0
    empty.migrate()
    assert registry.get_sample_value("juncture_journey_stats_up") == 1


def test_a_connection_given_back_after_close_is_closed(database_url: str) -> None:
    """A thread still reading when the store closes (a dashboard report as the server stops)
    gives its connection back to a disposed pool: closed then, not left open for the garbage
    collector (whose warning would fail whichever test it ran in)."""
    store = SqlStore(database_url)
    try:
        busy = store.engine.connect()
        driver = busy.connection.driver_connection
        store.close()
        assert not _closed(driver)  # still in use
        busy.close()
        assert _closed(driver)
        with store.engine.connect() as late:  # a read that began after close
            driver = late.connection.driver_connection
        assert _closed(driver)
    finally:
        store.close()


def _closed(driver: object) -> bool:
    """psycopg's ``closed``; a sqlite3 connection answers no query once closed."""
    if hasattr(driver, "closed"):
        return bool(driver.closed)
    try:
        driver.execute("SELECT 1")  # type: ignore[attr-defined]
    except Exception:  # noqa: BLE001 - sqlite3.ProgrammingError: closed
        return True
    return False


@pytest.fixture(params=["sqlite", "postgres"])
def unreachable(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[sa.Engine]:
    """An engine whose database cannot be opened: a SQLite file in a missing folder, a
    PostgreSQL server on a port where none listens."""
    missing = f"sqlite:///{tmp_path / 'no-such-folder' / 'j.db'}"
    engine = dialects.create_engine(
        missing if request.param == "sqlite" else "postgresql+psycopg://postgres@127.0.0.1:1/j"
    )
    yield engine
    engine.dispose()


def test_the_outbox_the_placements_and_the_events_say_the_store_is_unavailable_alike(
    unreachable: sa.Engine,
) -> None:
    calls: dict[str, Callable[[], object]] = {
        "outbox": lambda: Outbox(unreachable).suppress(1, "test"),
        "placements": lambda: Placements(unreachable).resolve(["user_id:1"]),
        "the event store": lambda: _writing(unreachable),
    }
    for name, call in calls.items():
        with pytest.raises(StoreUnavailable, match=r"^the store is unavailable: ") as failed:
            call()
        assert isinstance(failed.value.__cause__, sa.exc.OperationalError), name


def _writing(engine: sa.Engine) -> None:
    with failures.writing(engine) as conn:
        conn.execute(sa.text("SELECT 1"))
