"""Product views live in ``product_views``, apart from the profile's body, on every store:
migration 0004 moves them out of old bodies (and back), a commit writes only the entries
that changed, a merge leaves none under the merged id, and every read gives the profile
whole."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
import sqlalchemy as sa

from juncture.core.events import Event
from juncture.core.profile.model import ProductView, Profile
from juncture.runtime.clock import ManualClock
from juncture.runtime.engine import Engine
from juncture.runtime.unit_of_work import commit
from juncture.store import migrate, product_views, tables
from juncture.store.sql import SqlStore
from juncture.store.state import StateSql

T0 = dt.datetime(2026, 3, 1, 9, 30, tzinfo=dt.UTC)
V = tables.product_views


def event(n: int, anon: str, **fields: Any) -> Event:
    at = T0 + dt.timedelta(minutes=n)
    return Event(
        source="src_a", message_id=f"m{n}", timestamp=at, received_at=at, anonymous_id=anon,
        context={"channel": "web"}, **fields,
    )  # fmt: skip


def viewed(n: int, anon: str, product: str) -> Event:
    props = {"product_id": product, "category": "Shoes", "price": 20.0}
    return event(n, anon, type="track", event="Product Viewed", properties=props)


def identified(n: int, anon: str, user: str) -> Event:
    return event(n, anon, type="identify", user_id=user)


def commit_each(store: SqlStore, events: list[Event]) -> None:
    writer = store.writer()
    engine = Engine(ManualClock(T0))
    for e in events:
        commit(writer, [e], [], engine.process)
    writer.close()


def stored_views(store: SqlStore, pid: str) -> list[tuple[str, int, str]]:
    query = sa.select(V.c.product_id, V.c.position, V.c.view).where(V.c.profile_id == pid)
    with store.engine.connect() as conn:
        return [(r[0], r[1], r[2]) for r in conn.execute(query.order_by(V.c.position))]


def profile_of(store: SqlStore, pid: str) -> Profile:
    found = store.profiles.profile(pid)
    assert found is not None
    return found.profile


def pid_of(store: SqlStore, anon: str) -> str:
    t = tables.identities
    with store.engine.connect() as conn:
        query = sa.select(t.c.profile_id).where(t.c.identifier == f"anonymous_id:{anon}")
        return str(conn.execute(query).scalar_one())


def bodies(store: SqlStore) -> dict[str, str | None]:
    p = tables.profiles
    with store.engine.connect() as conn:
        return {r[0]: r[1] for r in conn.execute(sa.select(p.c.profile_id, p.c.body))}


@pytest.fixture
def old_store(store: SqlStore) -> Iterator[SqlStore]:
    """The store at revision 0003 (bodies hold the products)."""
    migrate.downgrade(store.engine, "0003")
    yield store
    migrate.upgrade(store.engine)


OLD = Profile(
    profile_id="p1",
    first_seen=T0,
    traits={"note": 'lists no "products": here'},
    products={
        'P"9': ProductView(views=2, last_at=T0, category="Socks"),
        "P1": ProductView(views=1, visits=((T0, T0),), price=9.5),
        "Ü-3": ProductView(views=4, seconds=12.0),
    },
    last_product="P1",
)
PLAIN = Profile(profile_id="p2", traits={"products": "a trait named products"})


def test_migration_moves_views_out_of_old_bodies_and_back(old_store: SqlStore) -> None:
    with old_store.engine.begin() as conn:
        names = set(sa.inspect(conn).get_table_names())
        assert "product_views" not in names
        conn.execute(
            tables.profiles.insert(),
            [
                {
                    "profile_id": "p1",
                    "redirect_to": None,
                    "body": msgspec.json.encode(OLD).decode(),
                },
                {
                    "profile_id": "p2",
                    "redirect_to": None,
                    "body": msgspec.json.encode(PLAIN).decode(),
                },
                {"profile_id": "p0", "redirect_to": "p1", "body": None},
            ],
        )
    migrate.upgrade(old_store.engine)

    assert [(k, i) for k, i, _ in stored_views(old_store, "p1")] == [
        (k, i) for i, k in enumerate(OLD.products)
    ]
    assert stored_views(old_store, "p2") == []
    stored = bodies(old_store)
    assert '"products"' not in str(stored["p1"])
    assert msgspec.json.decode(str(stored["p2"]), type=Profile) == PLAIN
    assert profile_of(old_store, "p1") == OLD
    assert list(profile_of(old_store, "p1").products) == list(OLD.products)
    assert profile_of(old_store, "p0") == OLD  # through the redirect
    assert profile_of(old_store, "p2") == PLAIN

    migrate.downgrade(old_store.engine, "0003")
    back = bodies(old_store)
    assert msgspec.json.decode(str(back["p1"]), type=Profile) == OLD
    assert list(msgspec.json.decode(str(back["p1"]), type=Profile).products) == list(OLD.products)
    assert back["p2"] == stored["p2"]


def test_a_product_view_writes_its_one_row(store: SqlStore) -> None:
    commit_each(store, [viewed(i, "a1", f"P{i}") for i in range(1, 4)])
    pid = pid_of(store, "a1")
    assert [(k, i) for k, i, _ in stored_views(store, pid)] == [("P1", 0), ("P2", 1), ("P3", 2)]
    with store.engine.begin() as conn:  # the same views as other text: a rewrite shows
        conn.execute(V.update().values(view=" " + V.c.view))

    commit_each(store, [viewed(4, "a1", "P2")])
    rows = {k: (i, text) for k, i, text in stored_views(store, pid)}
    assert not rows["P2"][1].startswith(" ")
    assert rows["P1"][1].startswith(" ") and rows["P3"][1].startswith(" ")

    commit_each(store, [viewed(5, "a1", "P9")])
    rows = {k: (i, text) for k, i, text in stored_views(store, pid)}
    assert rows["P9"][0] == 3 and not rows["P9"][1].startswith(" ")
    assert rows["P1"][1].startswith(" ") and rows["P3"][1].startswith(" ")
    profile = profile_of(store, pid)
    assert list(profile.products) == ["P1", "P2", "P3", "P9"]
    assert profile.products["P2"].views == 2
    assert '"products"' not in str(bodies(store)[pid])


def test_a_merge_leaves_the_survivor_every_view_and_the_merged_id_none(store: SqlStore) -> None:
    commit_each(
        store,
        [
            viewed(1, "a1", "P1"),
            viewed(2, "a1", "P2"),
            viewed(3, "a2", "P3"),
            viewed(4, "a2", "P2"),
            identified(5, "a1", "u1"),
            identified(6, "a2", "u1"),
        ],
    )
    m = tables.merges
    with store.engine.connect() as conn:
        [(survivor, merged)] = conn.execute(sa.select(m.c.survivor, m.c.merged)).all()
    assert stored_views(store, merged) == []
    profile = profile_of(store, survivor)
    assert set(profile.products) == {"P1", "P2", "P3"}
    assert profile.products["P2"].views == 2
    assert [k for k, _, _ in stored_views(store, survivor)] == list(profile.products)

    commit_each(store, [viewed(7, "a2", "P4")])  # after the merge, through the survivor
    again = profile_of(store, survivor)
    assert list(again.products) == [*profile.products, "P4"]
    assert stored_views(store, merged) == []


def test_a_reordered_dict_is_written_again_in_its_new_order(store: SqlStore) -> None:
    first = Profile(profile_id="p1", products={"A": ProductView(views=1)})
    first = msgspec.structs.replace(
        first, products={**first.products, "B": ProductView(views=2), "C": ProductView(views=3)}
    )
    save(store, first, load=False)
    reordered = msgspec.structs.replace(
        first,
        products={"C": first.products["C"], "A": ProductView(views=5), "D": ProductView()},
    )
    save(store, reordered, load=True)
    assert [(k, i) for k, i, _ in stored_views(store, "p1")] == [("C", 0), ("A", 1), ("D", 2)]
    assert profile_of(store, "p1") == reordered


def save(store: SqlStore, profile: Profile, *, load: bool) -> None:
    pooled = store.engine.raw_connection()
    try:
        state = StateSql(pooled.cursor(), store.dialect)
        if load:
            state.load((), (), [profile.profile_id])
        graph, _ = state.load((), (), [])
        state.save_profiles({profile.profile_id: profile}, {}, graph, T0)
        pooled.commit()
    finally:
        pooled.close()


def test_changes_writes_new_and_replaced_entries_only() -> None:
    one, two, three = ProductView(views=1), ProductView(views=2), ProductView(views=3)
    before = {"A": one, "B": two}
    assert product_views.changes("p", before, before) == (False, [])
    rewrite, rows = product_views.changes("p", before, {"A": one, "B": three, "C": one})
    assert not rewrite
    assert [(k, i) for _, k, i, _ in rows] == [("B", 1), ("C", 2)]
    rewrite, rows = product_views.changes("p", before, {"B": two, "A": one})
    assert rewrite
    assert [(k, i) for _, k, i, _ in rows] == [("B", 0), ("A", 1)]
    assert product_views.changes("p", {}, before)[0] is False
