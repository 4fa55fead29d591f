"""JourneyStore on every store: versions, statuses, the engine's catalog, concurrent applies."""

from __future__ import annotations

import threading

import pytest

from juncture.definitions import journeys as journey_definitions
from juncture.errors import Conflict, NotFound
from juncture.store.journeys import JourneyStore
from juncture.store.sql import SqlStore

V1 = """\
id: thanks
version: 1
name: Thank you
nodes:
  - id: bought
    type: trigger
    event: Order Completed
    next: wait
  - id: wait
    type: wait
    duration: 1d
    next: mail
  - id: mail
    type: send
    channel: email
    template: post_purchase
    next: done
  - id: done
    type: exit
"""
V2 = V1.replace("duration: 1d", "duration: 2d")


@pytest.fixture
def journeys(store: SqlStore) -> JourneyStore:
    return JourneyStore(store.engine)


def test_a_changed_file_makes_a_new_version_and_the_old_one_keeps_running(
    journeys: JourneyStore,
) -> None:
    first = journeys.apply(V1, "thanks.yaml")
    assert (first.version, first.status, first.created) == (1, "active", True)
    assert journeys.apply(V1, "thanks.yaml").created is False
    # comments, layout and the file's version number alone do not make a version
    same = journeys.apply("# edited\n" + V1.replace("version: 1", "version: 7"), "thanks.yaml")
    assert (same.created, same.version, same.declared) == (False, 1, 7)

    second = journeys.apply(V2, "thanks.yaml")
    assert (second.version, second.status, second.created, second.declared) == (
        2,
        "active",
        True,
        1,
    )
    catalog = journeys.catalog()
    assert [(v.id, v.version) for v in catalog.versions] == [("thanks", 1), ("thanks", 2)]
    assert catalog.open == frozenset({"thanks"})
    latest = catalog.latest("thanks")
    assert latest is not None
    assert str(latest.nodes["wait"].duration) == "2 days, 0:00:00"  # type: ignore[union-attr]
    assert [v.version for v in catalog.entering()] == [2]
    shown = journeys.show("thanks")
    assert [(v.version, v.status) for v in shown.versions] == [(1, "superseded"), (2, "active")]
    assert journeys.show("thanks", version=1).spec.version == 1

    journeys.archive("thanks")
    assert journeys.catalog().versions == ()
    assert journeys.catalog().open == frozenset()
    assert journeys.show("thanks").status == "archived"
    # applying again after an archive starts it anew, as a new version
    again = journeys.apply(V2, "thanks.yaml")
    assert (again.version, again.status, again.created) == (3, "active", True)
    assert [v.version for v in journeys.catalog().versions] == [3]


def test_a_bad_definition_changes_nothing(journeys: JourneyStore) -> None:
    journeys.apply(V1, "thanks.yaml")
    before = journeys.catalog()
    with pytest.raises(journey_definitions.InvalidJourney) as caught:
        journeys.apply(V2.replace("next: mail", "next: mial"), "thanks.yaml")
    assert "thanks.yaml:" in str(caught.value) and "mial" in str(caught.value)
    assert journeys.catalog() == before
    assert [v.version for v in journeys.show("thanks").versions] == [1]


def test_pause_and_resume_close_and_reopen_entries(journeys: JourneyStore) -> None:
    journeys.apply(V1, "thanks.yaml")
    assert journeys.pause("thanks").status == "paused"
    assert journeys.pause("thanks").status == "paused"  # twice is fine
    catalog = journeys.catalog()
    assert catalog.open == frozenset() and [v.version for v in catalog.versions] == [1]
    # an edit of a paused journey stays paused
    assert journeys.apply(V2, "thanks.yaml").status == "paused"
    assert journeys.catalog().open == frozenset()
    assert journeys.resume("thanks").status == "active"
    assert journeys.catalog().open == frozenset({"thanks"})
    journeys.archive("thanks")
    with pytest.raises(Conflict, match="archived"):
        journeys.resume("thanks")
    with pytest.raises(NotFound):
        journeys.pause("nope")
    with pytest.raises(NotFound):
        journeys.show("thanks", version=9)


def test_the_catalog_is_cached_until_something_changes(journeys: JourneyStore) -> None:
    journeys.apply(V1, "thanks.yaml")
    first = journeys.catalog()
    assert journeys.catalog() is first
    other = JourneyStore(journeys.engine)  # e.g. the admin API's, in the same process
    other.pause("thanks")
    assert journeys.catalog() is not first
    assert journeys.catalog().open == frozenset()


def test_the_library_installs_and_a_second_install_changes_nothing(
    journeys: JourneyStore,
) -> None:
    applied = journeys.apply_library()
    assert {a.journey_id for a in applied} == {j.id for j in journey_definitions.load_library()}
    assert all(a.created and a.version == 1 for a in applied)
    assert not any(a.created for a in journeys.apply_library())
    assert journeys.catalog().open == {a.journey_id for a in applied}


def _apply_at_once(journeys: JourneyStore, texts: list[str]) -> list[BaseException]:
    errors: list[BaseException] = []
    start = threading.Barrier(len(texts))

    def apply(text: str) -> None:
        start.wait()
        try:
            JourneyStore(journeys.engine).apply(text, "thanks.yaml")
        except BaseException as exc:  # noqa: BLE001 - reported by the caller
            errors.append(exc)

    threads = [threading.Thread(target=apply, args=(t,)) for t in texts]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return errors


def test_the_same_change_applied_at_once_makes_one_version(journeys: JourneyStore) -> None:
    journeys.apply(V1, "thanks.yaml")
    assert _apply_at_once(journeys, [V2] * 6) == []
    versions = journeys.show("thanks").versions
    assert [(v.version, v.status) for v in versions] == [(1, "superseded"), (2, "active")]


def test_different_changes_at_once_get_distinct_consecutive_versions(
    journeys: JourneyStore,
) -> None:
    journeys.apply(V1, "thanks.yaml")
    texts = [V1.replace("duration: 1d", f"duration: {n}h") for n in range(2, 7)]
    assert _apply_at_once(journeys, texts) == []
    shown = [journeys.show("thanks", version=n) for n in range(1, 7)]
    assert sorted(j.source for j in shown[1:]) == sorted(texts)
    statuses = [v.status for v in shown[0].versions]
    assert statuses == ["superseded"] * 5 + ["active"]


def test_the_catalog_reconnects_after_losing_its_connection(journeys: JourneyStore) -> None:
    journeys.apply(V1, "thanks.yaml")
    assert journeys.catalog().open == {"thanks"}
    if journeys.engine.dialect.name == "postgresql":  # autocommit: no transaction left open
        with journeys.engine.connect() as conn:
            idle = "SELECT count(*) FROM pg_stat_activity WHERE state = 'idle in transaction'"
            idle += " AND datname = current_database()"
            assert conn.exec_driver_sql(idle).scalar() == 0
    journeys._cache._held._conn.dbapi_connection.close()  # as a server restart would
    journeys.pause("thanks")
    assert journeys.catalog().open == frozenset()
    journeys.close()
    assert journeys.catalog().open == frozenset()  # opens a new one when asked again
    journeys.close()
