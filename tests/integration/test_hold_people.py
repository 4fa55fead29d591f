"""The people a worker's transaction holds (``store/leases.hold_people``, PostgreSQL): a
merge another partition's worker commits while this one waits for a profile's lock is
followed, through the merged profile's forwarding record, to its survivor, who is then
held too (else two workers could write the survivor at once)."""

from __future__ import annotations

import threading
import time
from typing import Any

import sqlalchemy as sa

from juncture.store import tables
from juncture.store.leases import hold_people
from juncture.store.sql import SqlStore

WAITING = sa.text(
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


def test_a_merge_committed_while_waiting_is_followed_to_the_survivor(postgres_url: str) -> None:
    store = SqlStore(postgres_url)
    with store.engine.begin() as conn:
        conn.execute(tables.profiles.insert(), [{"profile_id": "P1"}, {"profile_id": "P2"}])
        conn.execute(
            tables.identities.insert(),
            [
                {"identifier": "anonymous_id:dev", "profile_id": "P1"},
                {"identifier": "anonymous_id:other-tab", "profile_id": "P1"},
                {"identifier": "user_id:u1", "profile_id": "P2"},
            ],
        )
    merging, commit = threading.Event(), threading.Event()
    held: dict[str, Any] = {}

    def merge() -> None:  # another partition: other-tab and u1 are one person; P1 -> P2
        with store.writer().unit() as unit:
            held["merge"] = hold_people(unit.state, ["anonymous_id:other-tab", "user_id:u1"], ())
            unit.state.cur.execute("UPDATE profiles SET redirect_to = 'P2' WHERE profile_id = 'P1'")
            merging.set()
            commit.wait(30)

    def apply() -> None:  # this partition: an event of the device only
        with store.writer().unit() as unit:
            held["apply"] = hold_people(unit.state, ["anonymous_id:dev"], ())

    merger, applier = threading.Thread(target=merge), threading.Thread(target=apply)
    try:
        merger.start()
        assert merging.wait(30)
        applier.start()
        deadline = time.monotonic() + 30
        with store.engine.connect() as conn:
            while not conn.execute(WAITING).scalar_one():  # the applier waits for P1
                assert time.monotonic() < deadline, "the applier never waited for P1"
                time.sleep(0.02)
        commit.set()
        merger.join(30)
        applier.join(30)
        assert held["merge"] == {"P1", "P2"}
        assert held["apply"] == {"P1", "P2"}  # the survivor too, though unknown at first
    finally:
        commit.set()
        store.close()
