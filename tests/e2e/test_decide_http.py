"""``POST /v1/decide`` over real HTTP, on every store: queued placements, rule-based
defaults, impressions, consent, the frequency cap and bad input."""

from __future__ import annotations

import base64
import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from juncture import wiring
from juncture.core.journeys.orchestrate import Message
from juncture.store.outbox import Outbox
from juncture.store.placements import Placements
from tests.conftest import ADMIN_TOKEN, WRITE_KEY, LiveServer, caught_up, settings_for, signed

AUTH = {"Authorization": "Basic " + base64.b64encode(f"{WRITE_KEY}:".encode()).decode()}
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}


def decide(live: LiveServer, **body: Any) -> dict[str, Any]:
    """A decision as a storefront asks it: a userId comes with the hash the retailer's
    backend computed for it."""
    if isinstance(body.get("userId"), str) and "userHash" not in body:
        body["userHash"] = signed(body["userId"])
    r = httpx.post(f"{live.url}/v1/decide", json=body, headers=AUTH)
    assert r.status_code == 200, r.text
    answer: dict[str, Any] = r.json()
    return answer


def send(live: LiveServer, kind: str, **body: Any) -> None:
    body.setdefault("messageId", str(uuid.uuid4()))
    r = httpx.post(f"{live.url}/v1/{kind}", json=body, headers=AUTH)
    assert r.status_code == 200, r.text
    caught_up(live.juncture)  # the tests read the profile it made, or decide for it


def profile_of(live: LiveServer, user_id: str) -> str:
    found = Placements(live.juncture.store.engine).resolve([f"user_id:{user_id}"])
    assert found is not None
    return found


def queue(live: LiveServer, pid: str, key: str, **payload: Any) -> None:
    purpose = payload.pop("purpose", "marketing")
    message = Message(
        key,
        pid,
        "onsite",
        purpose,
        dt.datetime.now(dt.UTC),
        payload,
        journey_id="browse_abandonment",
    )
    assert Outbox(live.juncture.store.engine).insert([message]) == 1


def add_to_cart(live: LiveServer, user_id: str) -> None:
    props = {"product_id": "P1", "name": "Trail Shoe", "price": 59.5, "quantity": 2}
    send(live, "track", userId=user_id, event="Product Added", properties=props)


def test_unknown_visitor_gets_a_welcome_once(live: LiveServer) -> None:
    first = decide(live, anonymousId="a-new", placement="home")
    assert first["placement"] == "home"
    assert first["reason"] == "first_visit"
    assert first["show"]["kind"] == "welcome"
    assert first["show"]["title"] == "Welcome!"
    again = decide(live, anonymousId="a-new", placement="home")
    assert (again["show"], again["reason"]) == (None, "already_shown")


def test_cart_recovery_then_welcome_then_nothing(live: LiveServer) -> None:
    send(live, "identify", userId="u-cart", traits={"first_name": "Ada"})
    add_to_cart(live, "u-cart")
    shown = decide(live, userId="u-cart", placement="home")
    assert shown["reason"] == "cart_recovery"
    assert shown["show"]["kind"] == "cart_recovery"
    assert shown["show"]["title"] == "Still in your basket: 2 items"
    assert "<li>Trail Shoe x 2</li>" in shown["show"]["html"]
    assert decide(live, userId="u-cart", placement="home")["reason"] == "first_visit"
    assert decide(live, userId="u-cart", placement="home")["reason"] == "already_shown"
    pid = profile_of(live, "u-cart")
    r = httpx.get(f"{live.url}/v1/deliveries", params={"profileId": pid}, headers=ADMIN)
    rows = r.json()["deliveries"]
    assert [(d["channel"], d["status"]) for d in rows] == [("onsite", "shown")] * 2
    assert all(d["sentAt"] is not None for d in rows)


def test_leaving_with_a_cart_gets_the_exit_offer_and_keeps_the_reminder(live: LiveServer) -> None:
    add_to_cart(live, "u-exit")
    leaving = decide(live, userId="u-exit", placement="exit")
    assert (leaving["reason"], leaving["show"]["kind"]) == ("exit_intent", "exit_intent")
    assert decide(live, userId="u-exit", placement="exit")["reason"] == "already_shown"
    back = decide(live, userId="u-exit", placement="home")
    assert (back["reason"], back["show"]["kind"]) == ("cart_recovery", "cart_recovery")


def test_queued_placement_is_shown_in_its_placement_and_recorded(live: LiveServer) -> None:
    send(live, "identify", userId="u-q", traits={"first_name": "Bo"})
    pid = profile_of(live, "u-q")
    queue(
        live,
        pid,
        "q1",
        placement="exit",
        kind="exit_intent",
        offer={"title": "Wait, {{ 10% off }}", "text": "Take 10% off today"},
        data={"coupon": "STAY10"},
    )
    elsewhere = decide(live, userId="u-q", placement="home")
    assert elsewhere["reason"] == "first_visit"  # the queued one is for `exit` only
    shown = decide(live, userId="u-q", placement="exit")
    assert shown["reason"] == "queued"
    show = shown["show"]
    assert show["kind"] == "exit_intent"
    assert show["title"] == "Wait, {{ 10% off }}"  # data is not re-parsed as a template
    assert show["text"] == "Take 10% off today\n"
    assert show["data"] == {"coupon": "STAY10"}
    assert show["journeyId"] == "browse_abandonment"
    detail = httpx.get(f"{live.url}/v1/deliveries/{show['id']}", headers=ADMIN).json()
    assert detail["status"] == "shown"
    assert [a["ok"] for a in detail["attemptLog"]] == [True]
    again = decide(live, userId="u-q", placement="exit")
    assert again["reason"] == "nothing_to_show"  # shown once; leaving without a cart has no default


def test_consent_denied_blocks_marketing_but_not_transactional(live: LiveServer) -> None:
    send(live, "identify", userId="u-no", traits={"consent": {"onsite": False}})
    add_to_cart(live, "u-no")
    pid = profile_of(live, "u-no")
    queue(live, pid, "m1", kind="survey")
    assert decide(live, userId="u-no", placement="home") == {
        "placement": "home",
        "show": None,
        "reason": "no_consent",
    }
    queue(live, pid, "t1", kind="email_my_basket", purpose="transactional")
    shown = decide(live, userId="u-no", placement="home")
    assert (shown["reason"], shown["show"]["kind"]) == ("queued", "email_my_basket")
    assert "the 2 items in your basket" in shown["show"]["html"]
    pending = Outbox(live.juncture.store.engine).deliveries(profile_id=pid, status="pending")
    assert [r.idempotency_key for r in pending] == ["m1"]


@pytest.fixture
def capped(database_url: str) -> Iterator[LiveServer]:
    settings = settings_for(database_url, onsite_cap_per_day=2)
    server = LiveServer(wiring.build(settings)).start()
    yield server
    server.stop()


def test_frequency_cap(capped: LiveServer) -> None:
    send(capped, "identify", userId="u-cap")
    pid = profile_of(capped, "u-cap")
    for key in ("c1", "c2", "c3"):
        queue(capped, pid, key, kind="time_sensitive_offer", offer={"ends_at": "Sunday"})
    kinds = [decide(capped, userId="u-cap", placement="p")["reason"] for _ in range(3)]
    assert kinds == ["queued", "queued", "frequency_cap"]
    left = Outbox(capped.juncture.store.engine).deliveries(status="pending")
    assert [r.idempotency_key for r in left] == ["c3"]


def test_a_queued_row_whose_template_fails_is_dead_lettered(live: LiveServer) -> None:
    send(live, "identify", userId="u-bad")
    pid = profile_of(live, "u-bad")
    queue(live, pid, "bad", inline={"subject": "{{ nope.missing }}"})
    answer = decide(live, userId="u-bad", placement="home")
    assert answer["reason"] == "first_visit"
    [dead] = Outbox(live.juncture.store.engine).deliveries(status="dead")
    assert "nope" in (dead.last_error or "")


@pytest.mark.parametrize(
    ("headers", "body", "status", "code"),
    [
        ({}, {"userId": "u", "placement": "home"}, 401, "unauthorized"),
        ({"Authorization": "Basic " + base64.b64encode(b"wrong:").decode()}, {}, 401, None),
        (AUTH, b"{not json", 400, "malformed_json"),
        (AUTH, [1, 2], 400, "invalid_body"),
        (AUTH, {"userId": "u"}, 400, "invalid_parameter"),
        (AUTH, {"userId": "u", "placement": "a b"}, 400, "invalid_parameter"),
        (AUTH, {"userId": 7, "placement": "home"}, 400, "invalid_parameter"),
        (AUTH, {"placement": "home"}, 400, "missing_identity"),
    ],
)
def test_bad_requests_get_json_errors(
    live: LiveServer, headers: dict[str, str], body: Any, status: int, code: str | None
) -> None:
    content = body if isinstance(body, bytes) else httpx.Request("POST", "/", json=body).content
    r = httpx.post(f"{live.url}/v1/decide", content=content, headers=headers)
    assert r.status_code == status, r.text
    answer = r.json()
    assert set(answer) >= {"code", "message"}
    if code is not None:
        assert answer["code"] == code


def test_write_key_in_body(live: LiveServer) -> None:
    body = {"writeKey": WRITE_KEY, "anonymousId": "a-k", "placement": "home"}
    r = httpx.post(f"{live.url}/v1/decide", json=body)
    assert r.status_code == 200, r.text
    assert r.json()["reason"] == "first_visit"


RECOMMEND = """\
id: recommend_on_site
version: 1
name: Recommend on the next product page
nodes:
  - {id: viewed, type: trigger, event: Product Viewed, next: show}
  - id: show
    type: send
    channel: onsite
    kind: product_recommendation
    placement: product
    template: onsite_product_recommendation
    next: done
  - {id: done, type: exit}
"""


def test_a_journey_queues_a_placement_that_decide_shows_with_its_kind(live: LiveServer) -> None:
    headers = {**ADMIN, "Content-Type": "application/yaml"}
    r = httpx.post(f"{live.url}/v1/journeys", content=RECOMMEND, headers=headers)
    assert r.status_code == 201, r.text
    send(live, "identify", userId="u-rec", traits={"first_name": "Ada"})
    send(live, "track", userId="u-rec", event="Product Viewed", properties={"product_id": "P1"})
    elsewhere = decide(live, userId="u-rec", placement="home")
    assert elsewhere["reason"] == "first_visit"  # queued for the product page only
    shown = decide(live, userId="u-rec", placement="product")
    assert shown["reason"] == "queued"
    assert shown["show"]["kind"] == "product_recommendation"
    assert shown["show"]["title"] == "Picked for you"
    assert shown["show"]["journeyId"] == "recommend_on_site"
    again = decide(live, userId="u-rec", placement="product")
    assert again["reason"] == "already_shown"


def test_a_write_key_alone_does_not_show_anyone_s_basket(live: LiveServer) -> None:
    """Write keys are public: a userId counts only with the hash the retailer's backend
    signs it with; without it (or with a wrong one) the visitor is their anonymous id, or
    nobody, and sees nothing of the user's."""
    add_to_cart(live, "victim-1")
    asked = {"userId": "victim-1", "placement": "cart"}
    for proof in ({}, {"userHash": signed("someone-else")}, {"userHash": "00" * 32}):
        r = httpx.post(f"{live.url}/v1/decide", json={**asked, **proof}, headers=AUTH)
        assert r.status_code == 200, r.text
        assert r.json() == {"placement": "cart", "show": None, "reason": "identity_unverified"}
        assert r.headers["Juncture-Identity"] == "unverified"
    mixed = httpx.post(
        f"{live.url}/v1/decide", json={**asked, "anonymousId": "a-stranger"}, headers=AUTH
    )
    assert mixed.headers["Juncture-Identity"] == "unverified"
    assert (mixed.json()["show"] or {}).get("kind") != "cart_recovery"
    by_header = httpx.post(
        f"{live.url}/v1/decide",
        json=asked,
        headers={**AUTH, "X-Juncture-User-Hash": signed("victim-1")},
    )
    assert by_header.headers["Juncture-Identity"] == "verified"
    assert by_header.json()["show"]["kind"] == "cart_recovery"  # the user, proven, sees it


@pytest.mark.parametrize(
    ("query", "status", "where"),
    [
        ("consistent=maybe", 400, "query.consistent"),
        ("consistent=true&x=%00", 400, "query.x"),
        ("consistent=yes", 200, None),
        ("consistent=0", 200, None),
    ],
)
def test_the_query_is_checked_as_every_route_checks_it(
    live: LiveServer, query: str, status: int, where: str | None
) -> None:
    """The plain route in front of the documented one answers the query as FastAPI would:
    ``consistent`` read as a boolean, NUL refused wherever it is."""
    body = {"anonymousId": "a-query", "placement": "nowhere"}
    r = httpx.post(f"{live.url}/v1/decide?{query}", json=body, headers=AUTH)
    assert r.status_code == status, r.text
    if where is not None:
        assert (r.json()["code"], r.json()["where"]) == ("invalid_parameter", where)
    else:
        assert r.headers.get("Juncture-Caught-Up") == ("true" if query.endswith("yes") else None)


def test_the_schema_documents_decide(live: LiveServer) -> None:
    operation = httpx.get(f"{live.url}/openapi.json").json()["paths"]["/v1/decide"]["post"]
    assert [p["name"] for p in operation["parameters"]] == ["consistent"]
    assert operation["tags"] == ["decisions"]
    assert "requestBody" in operation
