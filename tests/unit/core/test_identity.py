from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from juncture.core import identity
from juncture.core.events import Event
from juncture.core.identity import ExternalId, IdentityConfig, IdentityGraph

T0 = dt.datetime(2026, 3, 1, 10, tzinfo=dt.UTC)
MIN = dt.timedelta(minutes=1)


def ev(
    *,
    user: str | None = None,
    anon: str | None = None,
    type: str = "track",
    at: dt.datetime = T0,
    mid: str = "m",
    previous: str | None = None,
    device: str | None = None,
    traits: dict[str, Any] | None = None,
    props: dict[str, Any] | None = None,
) -> Event:
    return Event(
        source="web",
        message_id=mid,
        type=type,
        event="X" if type == "track" else None,
        timestamp=at,
        received_at=at,
        user_id=user,
        anonymous_id=anon,
        previous_id=previous,
        traits=traits or {},
        properties=props or {},
        context={"device": {"id": device}} if device else {},
    )


def play(
    events: list[Event], config: IdentityConfig = identity.DEFAULT_CONFIG
) -> tuple[IdentityGraph, list[identity.Resolution]]:
    graph = IdentityGraph()
    out = []
    for e in events:
        r = identity.resolve(graph, e, config)
        graph = r.graph
        out.append(r)
    return graph, out


def test_new_profile_id_derives_from_founding_identifier() -> None:
    _, (r,) = play([ev(anon="a1")])
    assert r.new_profile
    assert r.profile_id == identity.profile_id_for("anonymous_id:a1")


def test_identify_links_anonymous_id_to_user() -> None:
    graph, rs = play([ev(anon="a1"), ev(user="u1", anon="a1", type="identify", at=T0 + MIN)])
    assert rs[1].profile_id == rs[0].profile_id
    assert not rs[1].merges
    assert graph.profile_of("user_id:u1") == rs[0].profile_id
    assert graph.nodes[rs[0].profile_id].user_ids == ("u1",)


def test_two_known_profiles_merge_into_the_older() -> None:
    graph, rs = play(
        [
            ev(user="u1", at=T0 + MIN, mid="1"),
            ev(anon="a1", at=T0, mid="2"),
            ev(user="u1", anon="a1", type="identify", at=T0 + 2 * MIN, mid="3"),
        ]
    )
    older = rs[1].profile_id
    (merge,) = rs[2].merges
    assert merge == identity.Merge(
        survivor=older,
        merged=rs[0].profile_id,
        by_message_id="3",
        at=T0 + 2 * MIN,
        reason="anonymous_id",
    )
    assert rs[2].profile_id == older
    assert graph.canonical(rs[0].profile_id) == older
    assert graph.merges == (merge,)
    assert rs[0].profile_id not in graph.nodes


def test_two_user_ids_never_merge_automatically() -> None:
    graph, rs = play(
        [
            ev(user="u1", anon="a1", mid="1"),
            ev(user="u2", anon="a1", mid="2", at=T0 + MIN),
        ]
    )
    assert rs[1].profile_id != rs[0].profile_id
    (conflict,) = rs[1].conflicts
    assert conflict.identifier == "anonymous_id:a1"
    assert conflict.profile_id == rs[0].profile_id
    assert conflict.other == "user_id:u2"
    assert graph.profile_of("anonymous_id:a1") == rs[0].profile_id
    assert len(graph.conflicts) == 1


def test_alias_joins_previous_id_and_user_id() -> None:
    graph, rs = play(
        [
            ev(user="old", mid="1"),
            ev(user="new", mid="2", at=T0 + MIN),
            ev(user="new", previous="old", type="alias", mid="3", at=T0 + 2 * MIN),
            ev(user="u9", previous="anon-7", type="alias", mid="4"),
        ]
    )
    (merge,) = rs[2].merges
    assert merge.reason == "alias"
    assert graph.profile_of("user_id:old") == graph.profile_of("user_id:new")
    assert graph.profile_of("anonymous_id:anon-7") == graph.profile_of("user_id:u9")


def test_shared_device_stops_linking_past_the_cap() -> None:
    config = IdentityConfig(max_users_per_device=2)
    events = [ev(user=f"u{i}", device="kiosk", mid=str(i)) for i in range(3)]
    events.append(ev(anon="walk-in", device="kiosk", mid="x"))
    graph, rs = play(events, config)
    assert graph.device_users["device_id:kiosk"] == ("u0", "u1", "u2")
    assert rs[3].new_profile
    assert rs[3].profile_id != rs[0].profile_id


def test_a_device_alone_never_merges_two_anonymous_sessions_by_default() -> None:
    kiosk = [ev(anon=f"shopper-{i}", device="kiosk", mid=str(i), at=T0 + i * MIN) for i in range(5)]
    graph, rs = play(kiosk)
    assert len({r.profile_id for r in rs}) == 5
    assert graph.merges == ()
    # the kiosk stopped at the second anonymous id: its list does not grow with traffic
    assert graph.device_users["device_id:kiosk"] == (
        "anonymous_id:shopper-0",
        "anonymous_id:shopper-1",
    )


def test_a_device_still_links_its_one_anonymous_session_to_a_user() -> None:
    """A login sent without the anonymous id (a server-side call with the device)."""
    _, rs = play([ev(anon="a1", device="d"), ev(user="u1", device="d", at=T0 + MIN)])
    assert rs[1].profile_id == rs[0].profile_id
    assert [m.reason for m in rs[1].merges] == []  # the user id joined a1's profile


def test_a_raised_anonymous_cap_links_up_to_the_cap_then_stops() -> None:
    config = IdentityConfig(max_anonymous_per_device=2)
    events = [ev(anon=f"a{i}", device="d", mid=str(i), at=T0 + i * MIN) for i in range(4)]
    _, rs = play(events, config)
    assert rs[1].profile_id == rs[0].profile_id  # a reinstall on the same phone
    assert rs[2].profile_id not in {rs[0].profile_id, rs[1].profile_id}
    assert rs[3].profile_id not in {rs[0].profile_id, rs[2].profile_id}


@settings(max_examples=60, deadline=None)
@given(st.permutations(range(6)))
def test_kiosk_shoppers_stay_apart_in_any_order(order: list[int]) -> None:
    events = [
        ev(anon=f"shopper-{i}", device="kiosk", mid=str(i), at=T0 + n * MIN)
        for n, i in enumerate(order)
    ]
    graph, rs = play(events)
    assert len({r.profile_id for r in rs}) == 6
    assert graph.merges == ()


def test_email_and_phone_link_only_when_configured() -> None:
    events = [
        ev(anon="a1", type="identify", traits={"email": " Ann@Example.com"}),
        ev(anon="a2", type="identify", traits={"email": "ann@example.com"}, at=T0 + MIN),
    ]
    _, rs = play(events)
    assert rs[0].profile_id != rs[1].profile_id
    graph, rs = play(events, IdentityConfig(link_email=True))
    assert rs[0].profile_id == rs[1].profile_id
    assert graph.profile_of("email:ann@example.com") == rs[0].profile_id
    phones = [
        ev(anon="a1", type="identify", traits={"phone": "+47 22 33 44 55"}),
        ev(anon="a2", type="identify", traits={"phone": "0047-22334455"}, at=T0 + MIN),
    ]
    _, rs = play(phones, IdentityConfig(link_phone=True))
    assert rs[0].profile_id == rs[1].profile_id


def test_external_ids_from_traits_and_properties() -> None:
    config = IdentityConfig(external_ids=(ExternalId(kind="loyalty", keys=("loyaltyCard",)),))
    _, rs = play(
        [
            ev(anon="web-1", type="identify", traits={"loyaltyCard": "L-1"}),
            ev(anon="pos-1", props={"loyaltyCard": "L-1"}, at=T0 + MIN),
        ],
        config,
    )
    assert rs[0].profile_id == rs[1].profile_id


def test_normalization() -> None:
    assert identity.normalize_email("nobody") is None
    assert identity.normalize_email(3) is None
    assert identity.normalize_phone("12") is None
    assert identity.normalize_phone(True) is None
    assert identity.normalize_phone("22 33 44 55") == "22334455"


def test_nothing_changes_returns_the_same_graph() -> None:
    graph, _ = play([ev(user="u1", anon="a1", device="d")])
    again = identity.resolve(graph, ev(user="u1", anon="a1", device="d", at=T0 + MIN))
    assert again.graph is graph
    assert not again.new_profile


def test_late_event_moves_first_seen_back() -> None:
    graph, rs = play([ev(anon="a1", at=T0), ev(anon="a1", at=T0 - MIN)])
    assert graph.nodes[rs[0].profile_id].first_seen == T0 - MIN


def test_event_without_ids_is_refused() -> None:
    with pytest.raises(ValueError, match="neither"):
        identity.resolve(IdentityGraph(), ev())


def test_json_round_trip() -> None:
    graph, _ = play(
        [
            ev(user="u1", anon="a1", mid="1"),
            ev(anon="a2", device="d", mid="2"),
            ev(anon="a1", device="d", mid="3"),
            ev(user="u2", anon="a1", mid="4"),
        ],
        IdentityConfig(max_anonymous_per_device=2),
    )
    assert graph.merges
    assert graph.conflicts
    assert IdentityGraph.from_json(graph.to_json()) == graph


# -- property tests ---------------------------------------------------------------------


def partition(graph: IdentityGraph) -> frozenset[frozenset[str]]:
    groups: dict[str, set[str]] = {}
    for key in graph.ids:
        pid = graph.profile_of(key)
        assert pid is not None
        groups.setdefault(pid, set()).add(key)
    return frozenset(frozenset(g) for g in groups.values())


def check_invariants(graph: IdentityGraph) -> None:
    for merged, target in graph.redirects.items():
        assert target in graph.nodes, "a redirect points at a live profile"
        assert target not in graph.redirects, "no chains, so no cycles"
        assert merged not in graph.nodes
    for key, pid in graph.ids.items():
        assert graph.canonical(pid) in graph.nodes, key
    for node in graph.nodes.values():
        assert len(node.user_ids) <= 1
    homes = [graph.profile_of(k) for k in graph.ids if k.startswith("user_id:")]
    assert len(homes) == len(set(homes)), "two user ids never share a profile"


@st.composite
def consistent_links(draw: st.DrawFn) -> list[Event]:
    """Events of a few people; each person has at most one user id and own devices."""
    people = draw(st.integers(1, 4))
    has_user = [draw(st.booleans()) for _ in range(people)]
    events = []
    for i in range(draw(st.integers(1, 14))):
        person = draw(st.integers(0, people - 1))
        user = f"u{person}" if has_user[person] and draw(st.booleans()) else None
        anon = (
            f"a{person}.{draw(st.integers(0, 3))}" if user is None or draw(st.booleans()) else None
        )
        device = f"d{person}.{draw(st.integers(0, 1))}" if draw(st.booleans()) else None
        at = T0 + draw(st.integers(0, 1000)) * MIN
        events.append(ev(user=user, anon=anon, device=device, at=at, mid=f"m{i}"))
    return events


def components(events: list[Event]) -> frozenset[frozenset[str]]:
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent.setdefault(x, x) != x:
            x = parent[x]
        return x

    for e in events:
        keys = [k for _, k in identity.identifiers(e)]
        for k in keys[1:]:
            parent[find(k)] = find(keys[0])
        find(keys[0])
    groups: dict[str, set[str]] = {}
    for k in parent:
        groups.setdefault(find(k), set()).add(k)
    return frozenset(frozenset(g) for g in groups.values())


# No device cap trips: a cap is a refusal, and which link it refuses depends on order.
UNCAPPED = IdentityConfig(max_anonymous_per_device=100)


@settings(max_examples=300, deadline=None)
@given(events=consistent_links(), data=st.data())
def test_partition_does_not_depend_on_arrival_order(
    events: list[Event], data: st.DataObject
) -> None:
    graph, _ = play(events, UNCAPPED)
    shuffled, _ = play(data.draw(st.permutations(events)), UNCAPPED)
    assert partition(graph) == partition(shuffled) == components(events)
    check_invariants(graph)
    check_invariants(shuffled)


@st.composite
def any_events(draw: st.DrawFn) -> list[Event]:
    events = []
    for i in range(draw(st.integers(1, 20))):
        user = draw(st.none() | st.sampled_from(["u1", "u2", "u3"]))
        anon = draw(st.sampled_from(["a1", "a2", "a3", "a4"]))
        device = draw(st.none() | st.sampled_from(["d1", "d2"]))
        kind = draw(st.sampled_from(["track", "identify", "alias"]))
        previous = draw(st.sampled_from(["a1", "a2", "u1"])) if kind == "alias" else None
        if kind == "alias" and user is None:
            kind = "track"
        at = T0 + draw(st.integers(0, 1000)) * MIN
        events.append(
            ev(user=user, anon=anon, device=device, type=kind, previous=previous, at=at, mid=str(i))
        )
    return events


@settings(max_examples=300, deadline=None)
@given(events=any_events())
def test_invariants_hold_for_any_stream(events: list[Event]) -> None:
    graph = IdentityGraph()
    for e in events:
        r = identity.resolve(graph, e)
        graph = r.graph
        assert r.profile_id in graph.nodes
        check_redirects(graph)
        for merge in r.merges:
            assert graph.canonical(merge.merged) == graph.canonical(merge.survivor)
    automatic = [e for e in events if e.type != "alias"]
    graph, _ = play(automatic)
    check_invariants(graph)


def check_redirects(graph: IdentityGraph) -> None:
    for merged, target in graph.redirects.items():
        assert target in graph.nodes
        assert merged not in graph.nodes
        assert target not in graph.redirects
