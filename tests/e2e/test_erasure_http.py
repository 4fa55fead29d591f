"""Erasing a person over real HTTP, on every store: after ``DELETE /v1/profiles/{id}`` no
row of any table (every table the schema declares, so a new one is checked too) names them,
and the other customer's data is as it was."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
import time
import uuid
from collections.abc import Iterator
from importlib import resources
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from juncture import wiring
from juncture.core.identity import ExternalId, IdentityConfig
from juncture.core.pipeline import EngineConfig
from juncture.core.profile.reducer import DERIVED_SOURCE
from juncture.store import tables
from tests.conftest import ADMIN, BASIC, LiveServer, caught_up, settings_for

YAML = {**ADMIN, "Content-Type": "application/yaml"}
BUYERS = """\
id: buyers
name: Bought this week
where:
  performed: Order Completed
  within: 7d
"""


@pytest.fixture
def live(database_url: str) -> Iterator[LiveServer]:
    """Email linking and the loyalty card on; email is recorded, not sent, by the
    dispatcher."""
    juncture = wiring.build(settings_for(database_url, record_channels="email"))
    juncture.engine.config = EngineConfig(
        identity=IdentityConfig(
            link_email=True, external_ids=(ExternalId(kind="loyalty_id", keys=("loyalty_id",)),)
        )
    )
    server = LiveServer(juncture).start()
    yield server
    server.stop()


class Person:
    """A customer whose every id is unique in the store, so that a text search finds
    exactly their rows."""

    def __init__(self, name: str) -> None:
        tag = uuid.uuid4().hex[:10]
        self.user = f"user-{name}-{tag}"
        self.phone_anon, self.laptop_anon = f"anon-{name}-phone-{tag}", f"anon-{name}-{tag}"
        self.email = f"{name}-{tag}@example.com"
        self.loyalty = f"L-{name}-{tag}"
        self.device = f"dev-{name}-{tag}"

    def strings(self) -> set[str]:
        return {
            self.user,
            self.phone_anon,
            self.laptop_anon,
            self.email,
            self.loyalty,
            self.device,
        }

    def story(self, start: dt.datetime, shared_device: str) -> list[dict[str, Any]]:
        """Phone (anonymous, on a shared tablet too) -> laptop (logs in) -> store."""

        def msg(kind: str, step: int, **fields: Any) -> dict[str, Any]:
            at = (start + dt.timedelta(seconds=10 * step)).isoformat()
            return {"type": kind, "messageId": str(uuid.uuid4()), "timestamp": at, **fields}

        phone = {"anonymousId": self.phone_anon, "context": {"device": {"id": self.device}}}
        tablet = {"context": {"device": {"id": shared_device}}}
        shoes = {"product_id": "P-1", "name": "Trail shoe", "category": "Shoes", "price": 80.0}
        return [
            msg("track", 0, event="Product Viewed", properties=shoes, **phone),
            msg("track", 1, event="Product Added", properties=shoes | {"quantity": 1}, **phone),
            msg("identify", 2, userId=self.user, traits={"email": self.email}, **phone),
            msg("page", 3, name="Home", anonymousId=self.laptop_anon),
            msg(
                "identify",
                4,
                userId=self.user,
                anonymousId=self.laptop_anon,
                traits={"email": self.email, "name": "Ann", "loyalty_id": self.loyalty},
            ),
            msg("page", 5, name="Sale", userId=self.user, **tablet),
            msg(
                "track",
                6,
                event="Order Completed",
                anonymousId=f"pos-{self.loyalty}",
                properties={
                    "order_id": f"o-{self.user}",
                    "loyalty_id": self.loyalty,
                    "revenue": 80.0,
                    "products": [shoes],
                },
            ),
        ]


def rows_naming(
    live: LiveServer, strings: set[str], unless: frozenset[str] = frozenset()
) -> dict[str, int]:
    """Per table of the schema, the rows whose text names one of ``strings`` (and none of
    ``unless``)."""
    found: dict[str, int] = {}
    with live.juncture.store.engine.connect() as conn:
        for table in tables.metadata.sorted_tables:
            for row in conn.execute(sa.select(table)):
                text = " ".join(str(v) for v in row)
                if any(s in text for s in strings) and not any(s in text for s in unless):
                    found[table.name] = found.get(table.name, 0) + 1
    return found


def scalar(live: LiveServer, query: sa.Select[Any]) -> Any:
    with live.juncture.store.engine.connect() as conn:
        return conn.execute(query).scalar_one()


@pytest.fixture
def api(live: LiveServer) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live.url) as client:
        yield client


def test_erasure_reaches_every_table_and_leaves_the_others(
    live: LiveServer, api: httpx.Client
) -> None:
    journey = (resources.files("juncture") / "library/journeys/post_purchase.yaml").read_text()
    assert api.post("/v1/journeys", content=journey, headers=YAML).status_code < 300
    assert api.post("/v1/segments", json={"source": BUYERS}, headers=ADMIN).status_code < 300
    live.juncture.start_dispatcher()
    ann, bob = Person("ann"), Person("bob")
    shared = f"dev-tablet-{uuid.uuid4().hex[:8]}"
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    stories: dict[str, set[str]] = {}
    for person in (ann, bob):
        story = person.story(start, shared)
        stories[person.user] = {m["messageId"] for m in story}
        for m in story:
            r = api.post(f"/v1/{m['type']}", json=m, headers=BASIC)
            assert r.status_code == 200, r.text
        bad = {"batch": [{"type": "track", "userId": person.user}]}  # no event: quarantined
        assert api.post("/v1/batch", json=bad, headers=BASIC).status_code == 400
    caught_up(live.juncture)  # the engine behind the log has applied both stories

    [found] = api.get("/v1/profiles", params={"userId": ann.user}, headers=ADMIN).json()["profiles"]
    pid, merged = found["profileId"], found["mergedIds"]
    assert merged  # the phone's and the laptop's profiles were merged
    outbox = tables.outbox
    sent = sa.select(sa.func.count()).select_from(outbox).where(outbox.c.status == "sent")
    deadline = time.monotonic() + 30
    while scalar(live, sent) < 2:  # each order's confirmation, recorded by the dispatcher
        assert time.monotonic() < deadline, "the confirmations were not dispatched"
        time.sleep(0.1)
    ann_strings = ann.strings() | {pid, *merged}
    before = rows_naming(live, ann_strings)
    # the story reached every table that holds a person, so the check below can fail
    assert set(before) >= {
        "events", "failed_events", "identities", "profiles", "product_views", "device_users",
        "merges", "timers", "enrollments", "outbox", "segment_members",
    }  # fmt: skip
    attempts = tables.delivery_attempts
    ann_mail = sa.select(outbox.c.id).where(outbox.c.profile_id == pid).scalar_subquery()
    ann_attempts = sa.select(sa.func.count()).where(attempts.c.outbox_id.in_(ann_mail))
    assert scalar(live, ann_attempts) >= 1
    # rows about Bob alone stay; those naming both (a refused link between them) go
    bob_alone = rows_naming(live, bob.strings(), unless=frozenset(ann_strings))
    [bob_profile] = api.get("/v1/profiles", params={"userId": bob.user}, headers=ADMIN).json()[
        "profiles"
    ]
    every_attempt = sa.select(sa.func.count()).select_from(attempts)
    attempts_before = scalar(live, every_attempt)

    exported = api.get(f"/v1/profiles/{merged[0]}/export", headers=ADMIN)
    assert exported.status_code == 200, exported.text
    export = exported.json()
    assert (export["profileId"], set(export["profiles"])) == (merged[0], {pid, *merged})
    events = export["tables"]["events"]
    assert {e["message_id"] for e in events} >= stories[ann.user]
    assert all(isinstance(e["body"], dict) for e in events)  # JSON columns come out as JSON
    assert export["tables"]["failed_events"][0]["payload"]["userId"] == ann.user
    their_devices = {d["device"]: d["users"] for d in export["tables"]["device_users"]}
    assert their_devices[f"device_id:{shared}"] == [ann.user]  # not Bob, who shares the tablet

    r = api.delete(  # a merged id names the person
        f"/v1/profiles/{merged[0]}", params={"reference": "REQ-42"}, headers=ADMIN
    )
    assert r.status_code == 200, r.text
    erased = r.json()
    assert erased["profileId"] == merged[0]
    assert set(erased["profiles"]) == {pid, *merged}
    assert erased["rows"]["events"] >= 8  # the story, the bad one aside, and derived events
    assert erased["rows"]["delivery_attempts"] >= 1
    [record] = api.get("/v1/erasures", headers=ADMIN).json()["erasures"]
    assert (record["reference"], record["profiles"]) == ("REQ-42", 2)
    assert (record["rows"], record["at"]) == (erased["rows"], erased["at"])
    # the export held exactly the rows the erasure deleted
    exported_rows = {t: len(rows) for t, rows in export["tables"].items() if t != "device_users"}
    assert exported_rows == {t: n for t, n in erased["rows"].items() if t != "device_users"}

    assert rows_naming(live, ann_strings) == {}
    assert scalar(live, every_attempt) == attempts_before - erased["rows"]["delivery_attempts"]
    # and the shared tablet's row now names Bob alone
    assert rows_naming(live, bob.strings()) == bob_alone | {
        "device_users": bob_alone.get("device_users", 0) + 1
    }
    devices = tables.device_users
    tablet = sa.select(devices.c.users).where(devices.c.device == f"device_id:{shared}")
    assert scalar(live, tablet) == f'["{bob.user}"]'
    bob_after = api.get(f"/v1/profiles/{bob_profile['profileId']}", headers=ADMIN).json()
    assert bob_after["orders"] == bob_profile["orders"]
    for gone in (f"/v1/profiles/{pid}", f"/v1/profiles/{merged[0]}"):
        assert api.get(gone, headers=ADMIN).status_code == 404
        assert api.get(f"{gone}/export", headers=ADMIN).status_code == 404
        again = api.delete(gone, headers=ADMIN)
        assert (again.status_code, again.json()["code"]) == (404, "profile_not_found")
    assert api.get("/v1/profiles", params={"userId": ann.user}, headers=ADMIN).status_code == 404

    # Bob's erasure finds the tablet through his events (its link was Ann's), and its list,
    # now empty, goes
    assert api.delete(f"/v1/profiles/{bob_profile['profileId']}", headers=ADMIN).status_code == 200
    assert rows_naming(live, bob.strings()) == {}
    newest, oldest = api.get("/v1/erasures", headers=ADMIN).json()["erasures"]
    assert (newest["reference"], oldest["reference"]) == (None, "REQ-42")
    older = api.get("/v1/erasures", params={"before": newest["id"]}, headers=ADMIN).json()
    assert older["erasures"] == [oldest]
    with live.juncture.store.engine.connect() as conn:
        assert conn.execute(tablet).all() == []


def test_erasure_needs_the_admin_token(live: LiveServer) -> None:
    r = httpx.delete(f"{live.url}/v1/profiles/p_x")
    assert r.status_code == 401


def test_an_erasure_amid_the_persons_own_traffic_leaves_nothing_stale(
    live: LiveServer, api: httpx.Client
) -> None:
    """Events of the person keep coming while they are erased: what is left afterwards is a
    new profile built only from the events stored after the erasure (the writer's cache of
    the old one is gone), and every stored reference points at a profile that exists."""
    user = f"user-race-{uuid.uuid4().hex[:8]}"
    start = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=5)
    sent: list[int] = []
    erased = threading.Event()

    def shop() -> None:  # until ten batches have gone in after the erasure (at most 60 s)
        after, deadline = 0, time.monotonic() + 60
        with httpx.Client(base_url=live.url) as client:
            for i in itertools.count():  # however long the erasure takes to come
                assert time.monotonic() < deadline, "the erasure never came"
                batch = [
                    {"type": "track", "userId": user, "event": "Product Viewed",
                     "messageId": str(uuid.uuid4()),
                     "timestamp": (start + dt.timedelta(milliseconds=50 * i + j)).isoformat(),
                     "properties": {"product_id": f"P-{j}", "price": 10.0}}
                    for j in range(5)
                ]  # fmt: skip
                assert (
                    client.post("/v1/batch", json={"batch": batch}, headers=BASIC).status_code
                    == 200
                )
                sent.append(i)
                after += erased.is_set()
                if after == 10:
                    return

    shopper = threading.Thread(target=shop)
    shopper.start()
    deadline = time.monotonic() + 30
    while len(sent) < 10:  # erase in the middle of the traffic
        assert time.monotonic() < deadline
        time.sleep(0.01)
    found_by = {"userId": user, "consistent": "true"}  # what was sent so far is applied
    [found] = api.get("/v1/profiles", params=found_by, headers=ADMIN).json()["profiles"]
    assert api.delete(f"/v1/profiles/{found['profileId']}", headers=ADMIN).status_code == 200
    erased.set()
    shopper.join(60)
    assert not shopper.is_alive()
    caught_up(live.juncture)  # the batches after the erasure are applied

    events, profiles, ids = tables.events, tables.profiles, tables.identities
    with live.juncture.store.engine.connect() as conn:
        known = set(conn.execute(sa.select(profiles.c.profile_id)).scalars())
        assert set(conn.execute(sa.select(ids.c.profile_id)).scalars()) <= known
        referenced = sa.select(events.c.profile_id).where(events.c.profile_id.is_not(None))
        assert set(conn.execute(referenced).scalars()) <= known
        left = conn.execute(
            sa.select(events.c.profile_id, sa.func.count())
            .where(events.c.user_id == user, events.c.source != DERIVED_SOURCE)
            .group_by(events.c.profile_id)
        ).all()
    assert len(left) == 1  # the batches after the erasure, on one new profile
    [(pid, count)] = left
    assert 0 < count < 5 * len(sent)  # the batches after the erasure, not all of them
    profile = api.get(f"/v1/profiles/{pid}", headers=ADMIN).json()["profile"]
    assert sum(profile["event_counts"].values()) == count  # nothing carried over
