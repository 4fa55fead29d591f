"""What a storefront's browser sends, over real HTTP: Segment's browser library posts each
call as text/plain JSON with the write key in the body to /v1/t, /v1/p, /v1/i, ... (and
/v1/b when batching); JSON with a Basic header needs a CORS preflight, answered for the
configured storefront origins only, and never on the admin API."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from juncture import wiring
from tests.conftest import ADMIN, WRITE_KEY, LiveServer, settings_for, stored

SHOP = "https://shop.example"


@pytest.fixture
def shop_live(database_url: str) -> Iterator[LiveServer]:
    settings = settings_for(database_url, cors_origins=f"{SHOP}, https://m.shop.example")
    server = LiveServer(wiring.build(settings)).start()
    yield server
    server.stop()


def _plain(body: str) -> dict[str, str]:
    return {"Content-Type": "text/plain", "Origin": SHOP}


def test_the_browser_library_s_short_paths_store_each_call(shop_live: LiveServer) -> None:
    calls = {
        "t": '{"type":"track","event":"Product Viewed","anonymousId":"a-1","messageId":"m-t",'
        '"properties":{"product_id":"P1"},"writeKey":"%s"}',
        "p": '{"type":"page","name":"Home","anonymousId":"a-1","messageId":"m-p","writeKey":"%s"}',
        "i": '{"type":"identify","userId":"u-1","anonymousId":"a-1","messageId":"m-i",'
        '"traits":{"email":"u1@example.com"},"writeKey":"%s"}',
        "b": '{"batch":[{"type":"track","event":"Cart Viewed","anonymousId":"a-1",'
        '"messageId":"m-b"}],"writeKey":"%s"}',
    }
    for path, body in calls.items():
        answer = httpx.post(
            f"{shop_live.url}/v1/{path}", content=body % WRITE_KEY, headers=_plain(body)
        )
        assert answer.status_code == 200, (path, answer.text)
        assert answer.headers["access-control-allow-origin"] == SHOP
        assert "Origin" in answer.headers["vary"]
    events = {e["messageId"]: e["type"] for e in stored(shop_live, anonymousId="a-1")}
    assert events == {"m-t": "track", "m-p": "page", "m-i": "identify", "m-b": "track"}


def test_a_preflight_is_answered_for_listed_origins_only(shop_live: LiveServer) -> None:
    ask = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, authorization",
    }
    ok = httpx.options(f"{shop_live.url}/v1/track", headers={**ask, "Origin": SHOP})
    assert ok.status_code == 204
    assert ok.headers["access-control-allow-origin"] == SHOP
    assert "POST" in ok.headers["access-control-allow-methods"]
    assert "authorization" in ok.headers["access-control-allow-headers"]
    other = httpx.options(
        f"{shop_live.url}/v1/track", headers={**ask, "Origin": "https://evil.example"}
    )
    assert other.status_code == 403
    assert other.json()["code"] == "origin_not_allowed"
    assert "access-control-allow-origin" not in other.headers
    admin = httpx.options(f"{shop_live.url}/v1/events", headers={**ask, "Origin": SHOP})
    assert "access-control-allow-origin" not in admin.headers
    read = httpx.get(f"{shop_live.url}/v1/events?userId=u-2", headers={**ADMIN, "Origin": SHOP})
    assert read.status_code == 200
    assert "access-control-allow-origin" not in read.headers  # the admin API stays closed
    posted = httpx.post(
        f"{shop_live.url}/v1/track",
        json={"userId": "u-2", "event": "Product Viewed"},
        auth=(WRITE_KEY, ""),
        headers={"Origin": "https://evil.example"},
    )
    assert posted.status_code == 200  # stored, but the browser keeps the answer from the page
    assert "access-control-allow-origin" not in posted.headers


def test_no_origin_is_allowed_unless_configured(database_url: str) -> None:
    server = LiveServer(wiring.build(settings_for(database_url))).start()
    try:
        answer = httpx.options(
            f"{server.url}/v1/t",
            headers={"Origin": SHOP, "Access-Control-Request-Method": "POST"},
        )
        assert answer.status_code == 403
    finally:
        server.stop()
