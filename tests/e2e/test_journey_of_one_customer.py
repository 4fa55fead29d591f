"""One customer across phone, laptop and store, over real HTTP, on every store: one profile,
one timeline, the right cart, order, channels and stage, and ``Channel Switched``."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from juncture import wiring
from juncture.core.identity import ExternalId, IdentityConfig
from juncture.core.pipeline import EngineConfig
from juncture.runtime.clock import ManualClock
from tests.conftest import ADMIN, BASIC, LiveServer, caught_up, settings_for

PHONE = {
    "device": {"id": "dev-phone-1", "type": "mobile"},
    "userAgent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) Mobile/15E148",
    "page": {"url": "https://shop.example/"},
}
LAPTOP = {
    "device": {"id": "dev-laptop-1", "type": "desktop"},
    "userAgent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_4) Safari/605.1.15",
    "page": {"url": "https://shop.example/"},
}
TILL = {"library": {"name": "acme-pos", "version": "3.1"}}
SHOES = {"product_id": "P-1", "name": "Trail shoe", "category": "Shoes", "price": 80.0}
SOCKS = {"product_id": "P-2", "name": "Wool socks", "category": "Socks", "price": 12.5}


@pytest.fixture
def live_linking(database_url: str) -> Iterator[LiveServer]:
    """The server with email linking on (a retailer's choice) and the loyalty card as an
    external id."""
    juncture = wiring.build(settings_for(database_url))
    juncture.engine.config = EngineConfig(
        identity=IdentityConfig(
            link_email=True,
            external_ids=(ExternalId(kind="loyalty_id", keys=("loyalty_id",)),),
        )
    )
    server = LiveServer(juncture).start()
    yield server
    server.stop()


def message(kind: str, at: dt.datetime, context: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "messageId": str(uuid.uuid4()),
        "timestamp": at.isoformat(),
        "context": context,
        **fields,
    }


def story(start: dt.datetime) -> list[dict[str, Any]]:
    """Phone (anonymous) -> laptop (logs in) -> store (pays with the loyalty card), in
    five minutes: well inside the cart's quiet period, which the server counts on its own
    wall clock."""

    def at(step: float) -> dt.datetime:
        return start + dt.timedelta(seconds=10 * step)

    phone = {"anonymousId": "anon-phone"}
    laptop = {"anonymousId": "anon-laptop"}
    return [
        message("page", at(0), PHONE, name="Home", **phone),
        message("track", at(1), PHONE, event="Product Viewed", properties=SHOES, **phone),
        message("track", at(2), PHONE, event="Product Viewed", properties=SOCKS, **phone),
        message(
            "track",
            at(3),
            PHONE,
            event="Product Added",
            properties=SHOES | {"quantity": 1},
            **phone,
        ),
        # "email my basket" on the phone: the address, but no login
        message("identify", at(4), PHONE, traits={"email": "Ann@Example.com"}, **phone),
        message("page", at(10), LAPTOP, name="Home", **laptop),
        message(
            "identify",
            at(11),
            LAPTOP,
            userId="u-ann",
            traits={"email": "ann@example.com", "name": "Ann", "loyalty_id": "L-77"},
            **laptop,
        ),
        message(
            "track",
            at(12),
            LAPTOP,
            event="Product Added",
            properties=SOCKS | {"quantity": 2},
            userId="u-ann",
            **laptop,
        ),
        message(
            "track",
            at(30),
            TILL,
            event="Order Completed",
            anonymousId="pos-S12-receipt-9001",
            properties={
                "order_id": "S12-9001",
                "store_id": "S12",
                "loyalty_id": "L-77",
                "revenue": 105.0,
                "products": [SHOES | {"quantity": 1}, SOCKS | {"quantity": 2}],
            },
        ),
    ]


def get(live: LiveServer, path: str, **params: Any) -> httpx.Response:
    return httpx.get(f"{live.url}{path}", params=params, headers=ADMIN)


def timeline(live: LiveServer, pid: str, **params: Any) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    after = 0
    while True:
        r = get(live, f"/v1/profiles/{pid}/events", after=after, limit=3, **params)
        assert r.status_code == 200, r.text
        events += r.json()["events"]
        after = r.json()["next"]
        if after is None:
            return events


def test_phone_laptop_and_store_are_one_customer(live_linking: LiveServer) -> None:
    live = live_linking
    messages = story(dt.datetime.now(dt.UTC) - dt.timedelta(minutes=6))
    for m in messages:
        r = httpx.post(f"{live.url}/v1/{m['type']}", json=m, headers=BASIC)
        assert r.status_code == 200, r.text
    caught_up(live.juncture)  # the engine behind the log has applied the story

    [by_user] = get(live, "/v1/profiles", userId="u-ann").json()["profiles"]
    pid = by_user["profileId"]
    for query in (
        {"anonymousId": "anon-phone"},
        {"anonymousId": "anon-laptop"},
        {"email": "ANN@example.com "},
    ):
        [same] = get(live, "/v1/profiles", **query).json()["profiles"]
        assert same["profileId"] == pid, query

    profile = get(live, f"/v1/profiles/{pid}").json()
    assert profile["userIds"] == ["u-ann"]
    assert profile["traits"]["name"] == "Ann"
    assert profile["cart"]["items"] == [] and profile["cart"]["value"] == 0
    assert profile["orders"]["count"] == 1
    assert profile["orders"]["revenue"] == pytest.approx(105.0)
    assert profile["orders"]["lastOrderId"] == "S12-9001"
    assert profile["channels"] == ["store", "web"]
    assert profile["lastChannel"] == "store"
    assert profile["devices"] == ["dev-laptop-1", "dev-phone-1"]
    assert profile["stage"] == "decision"  # converted once, not yet loyal
    viewed = profile["profile"]["products"]  # stored apart from the body, shown with it
    assert {k: v["views"] for k, v in viewed.items()} == {"P-1": 1, "P-2": 1}
    assert viewed["P-1"]["category"] == "Shoes"

    # the laptop's own anonymous profile was merged into the phone's (seen first)
    [merged] = profile["mergedIds"]
    moved = get(live, f"/v1/profiles/{merged}").json()
    assert (moved["profileId"], moved["redirectedFrom"]) == (pid, merged)

    sent = [e["messageId"] for e in timeline(live, merged, derived="false")]
    assert sent == [m["messageId"] for m in messages]

    derived = timeline(live, pid, derived="true")
    switched = [e["properties"] for e in derived if e["event"] == "Channel Switched"]
    assert {(s["from_channel"], s["to_channel"]) for s in switched} >= {("web", "store")}
    [to_store] = [s for s in switched if s["to_channel"] == "store"]
    assert to_store["item_count"] == 3  # the cart carried into the store
    names = [e["event"] for e in derived]
    assert "Cart Intent" in names
    assert "Cart Abandoned" not in names  # bought three minutes after the last add
    stages = [e["properties"]["to"] for e in derived if e["event"] == "Journey Stage Changed"]
    assert stages[-1] == "decision"
    everything = timeline(live, pid)
    assert [e["seq"] for e in everything] == sorted(e["seq"] for e in everything)
    assert len(everything) == len(messages) + len(derived)

    graph = get(live, f"/v1/profiles/{merged}/identities").json()
    assert graph["profileId"] == pid
    kinds = {(i["kind"], i["value"]) for i in graph["identifiers"]}
    assert {
        ("anonymous_id", "anon-phone"),
        ("anonymous_id", "anon-laptop"),
        ("user_id", "u-ann"),
        ("email", "ann@example.com"),
        ("loyalty_id", "L-77"),
        ("device_id", "dev-phone-1"),
        ("device_id", "dev-laptop-1"),
        ("anonymous_id", "pos-S12-receipt-9001"),
    } <= kinds
    [merge] = graph["merges"]
    assert (merge["survivor"], merge["merged"]) == (pid, merged)
    assert merge["byMessageId"] == messages[6]["messageId"]
    assert graph["conflicts"] == []


def test_a_second_user_on_the_same_email_is_a_conflict_not_a_merge(
    live_linking: LiveServer,
) -> None:
    live = live_linking
    now = dt.datetime.now(dt.UTC)
    for user in ("u-1", "u-2"):
        m = message("identify", now, {}, userId=user, traits={"email": "shared@example.com"})
        assert httpx.post(f"{live.url}/v1/identify", json=m, headers=BASIC).status_code == 200
    caught_up(live.juncture)
    [first] = get(live, "/v1/profiles", userId="u-1").json()["profiles"]
    [second] = get(live, "/v1/profiles", userId="u-2").json()["profiles"]
    assert first["profileId"] != second["profileId"]
    for pid in (first["profileId"], second["profileId"]):
        [conflict] = get(live, f"/v1/profiles/{pid}/identities").json()["conflicts"]
        assert (conflict["identifier"], conflict["other"]) == (
            "email:shared@example.com",
            "user_id:u-2",
        )


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        ("/v1/profiles/p_nobody", {}, 404, "profile_not_found"),
        ("/v1/profiles/p_nobody/events", {}, 404, "profile_not_found"),
        ("/v1/profiles/p_nobody/identities", {}, 404, "profile_not_found"),
        ("/v1/profiles", {}, 400, "missing_parameter"),
        ("/v1/profiles", {"userId": "a", "email": "a@b.c"}, 400, "missing_parameter"),
        ("/v1/profiles", {"email": "not-an-address"}, 400, "invalid_parameter"),
        ("/v1/profiles", {"userId": "nobody"}, 404, "profile_not_found"),
    ],
)
def test_unknown_ids_and_bad_parameters_get_clear_errors(
    live: LiveServer, path: str, params: dict[str, str], status: int, code: str
) -> None:
    r = get(live, path, **params)
    assert r.status_code == status, r.text
    assert r.json()["code"] == code
    assert r.json()["message"]


def test_profile_api_needs_the_admin_token(live: LiveServer) -> None:
    r = httpx.get(f"{live.url}/v1/profiles", params={"userId": "u"})
    assert (r.status_code, r.json()["code"]) == (401, "unauthorized")


def test_timeline_paging_is_validated(live: LiveServer) -> None:
    m = message("track", dt.datetime.now(dt.UTC), {}, userId="u-9", event="Signed Up")
    assert httpx.post(f"{live.url}/v1/track", json=m, headers=BASIC).status_code == 200
    caught_up(live.juncture)
    [p] = get(live, "/v1/profiles", userId="u-9").json()["profiles"]
    r = get(live, f"/v1/profiles/{p['profileId']}/events", limit=0)
    assert (r.status_code, r.json()["code"]) == (400, "invalid_parameter")
    r = get(live, f"/v1/profiles/{p['profileId']}/events", after=-1)
    assert (r.status_code, r.json()["code"]) == (400, "invalid_parameter")


def test_the_profile_carries_rfm_scores_as_of_the_engines_clock(database_url: str) -> None:
    now = dt.datetime(2026, 5, 4, 12, tzinfo=dt.UTC)
    clock = ManualClock(now)
    live = LiveServer(wiring.build(settings_for(database_url), clock=clock)).start()
    try:
        for days_ago, order_id, revenue in ((10, "o-1", 60.0), (3, "o-2", 100.0)):
            body = {"order_id": order_id, "revenue": revenue}
            m = message(
                "track",
                now - dt.timedelta(days=days_ago),
                {},
                userId="u-rfm",
                event="Order Completed",
                properties=body,
            )
            assert httpx.post(f"{live.url}/v1/track", json=m, headers=BASIC).status_code == 200
        caught_up(live.juncture)
        [found] = get(live, "/v1/profiles", userId="u-rfm").json()["profiles"]
        # last order 3 days ago: recency 5; two orders: frequency 2; 160 spent: monetary 3
        assert found["rfm"] == {
            "recency": 5,
            "frequency": 2,
            "monetary": 3,
            "at": "2026-05-04T12:00:00.000Z",
        }
        clock.set(now + dt.timedelta(days=40))  # 43 days since the last order
        again = get(live, f"/v1/profiles/{found['profileId']}").json()["rfm"]
        assert (again["recency"], again["frequency"], again["monetary"]) == (3, 2, 3)
    finally:
        live.stop()
