"""Segment's own browser library (``@segment/analytics-next``, the storefront's vendored copy)
in real headless Chromium, on a shop of another origin, with its API host set to Juncture:
what it sends arrives with Segment's field layout, through CORS, including its retry after
a failed request and the batch it sends as the page is left (``pagehide``, with keepalive)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.browser import shop
from tests.browser.conftest import PageProblems, screenshot
from tests.conftest import WRITE_KEY, LiveServer, stored


@pytest.fixture
def site(database_url: str) -> Iterator[tuple[shop.Shop, LiveServer]]:
    with shop.beside(database_url) as both:
        yield both


def arrived(page: Any, live: LiveServer, count: int, **query: str) -> list[dict[str, Any]]:
    """The stored events of one visitor once ``count`` have arrived (at most 10 s). Waits
    through the page, so that Playwright goes on handling its routes and events meanwhile."""
    deadline = time.monotonic() + 10
    while True:
        events = stored(live, **query)
        if len(events) >= count or time.monotonic() > deadline:
            return events
        page.wait_for_timeout(100)


# The version vendored, as scripts/vendor-assets-storefront wrote it: analytics-next names
# itself analytics.js, version next-<version>.
VENDORED = (shop.VENDOR / "VERSIONS").read_text().strip().rsplit("@", 1)[1]
CALLS = """
<script>
analytics.page("Home", {title_shown: "Home"});
analytics.identify("u-browser-1", {email: "ada@example.com", first_name: "Ada"});
analytics.track("Product Viewed", {product_id: "p100001", name: "Trail Shoe", price: 59.5,
                                   currency: "USD"});
</script>
"""
# The page shows the library's anonymous id in its title, for the test to read.
SHOW_ID = (
    "<script>analytics.user().then(u => { document.title = 'anon:' + u.anonymousId() })</script>"
)


def anonymous_id(page: Any) -> str:
    page.wait_for_function("document.title.startsWith('anon:')")
    return str(page.title().removeprefix("anon:"))


def test_page_identify_and_track_arrive_with_segment_s_layout(
    site: tuple[shop.Shop, LiveServer], page: Any, page_problems: PageProblems
) -> None:
    front, juncture = site
    front.pages["/"] = shop.html(
        shop.analytics_next(front, juncture.url, WRITE_KEY) + CALLS + SHOW_ID
    )
    page.goto(f"{front.url}/")
    anon = anonymous_id(page)
    events = arrived(page, juncture, 3, anonymousId=anon)
    by_type = {e["type"]: e for e in events}
    assert set(by_type) == {"page", "identify", "track"}
    for event in events:
        library = event["context"]["library"]
        assert library == {"name": "analytics.js", "version": f"next-{VENDORED}"}
        assert event["anonymousId"] == anon
        assert event["messageId"].startswith("ajs-next-")
        assert event["context"]["page"]["url"] == f"{front.url}/"
        assert "Chrome" in event["context"]["userAgent"]
    assert by_type["page"]["name"] == "Home"
    assert by_type["identify"]["userId"] == "u-browser-1"
    assert by_type["identify"]["traits"]["first_name"] == "Ada"
    track = by_type["track"]
    assert (track["event"], track["userId"]) == ("Product Viewed", "u-browser-1")
    assert track["properties"]["product_id"] == "p100001"
    screenshot(page, "analytics-next-shop")
    page_problems.assert_none()


def test_a_failed_request_is_retried_and_arrives_once(
    site: tuple[shop.Shop, LiveServer], page: Any, page_problems: PageProblems
) -> None:
    front, juncture = site
    failed: list[str] = []

    def fail_once(route: Any) -> None:
        if not failed:
            failed.append(route.request.url)
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route(f"{juncture.url}/v1/t", fail_once)
    calls = "<script>analytics.track('Product Added', {product_id: 'p1'});"
    calls += "</script>" + SHOW_ID
    front.pages["/"] = shop.html(shop.analytics_next(front, juncture.url, WRITE_KEY) + calls)
    page.goto(f"{front.url}/")
    anon = anonymous_id(page)
    events = arrived(page, juncture, 1, anonymousId=anon)
    assert failed == [f"{juncture.url}/v1/t"]
    assert [e["event"] for e in events] == ["Product Added"]
    page.wait_for_timeout(500)  # no second copy comes later
    assert len(stored(juncture, anonymousId=anon)) == 1
    assert page_problems.failed == [f"POST {juncture.url}/v1/t"]  # the one we broke
    assert page_problems.console == ["Failed to load resource: net::ERR_CONNECTION_RESET"]


def test_a_batch_waiting_when_the_page_is_left_is_sent_as_it_goes(
    site: tuple[shop.Shop, LiveServer], page: Any, page_problems: PageProblems
) -> None:
    front, juncture = site
    batching = {"strategy": "batching", "config": {"size": 50, "timeout": 60000}}
    head = shop.analytics_next(front, juncture.url, WRITE_KEY, deliveryStrategy=batching)
    calls = "<script>analytics.track('Product Viewed', {product_id: 'p2'});"
    calls += "analytics.track('Product Added', {product_id: 'p2'});"
    calls += "</script>" + SHOW_ID
    front.pages.update({"/": shop.html(head + calls), "/next": shop.html("", "<p>next</p>")})
    page.goto(f"{front.url}/")
    anon = anonymous_id(page)
    page.wait_for_timeout(500)
    assert stored(juncture, anonymousId=anon) == []  # held for the batch's 60 s timeout
    page.goto(f"{front.url}/next")  # leaving the page sends what waits
    events = arrived(page, juncture, 2, anonymousId=anon)
    assert sorted(e["event"] for e in events) == ["Product Added", "Product Viewed"]
    page_problems.assert_none()
