"""The demo storefront in real headless Chromium, as a shopper walks it: the welcome on a
first visit, products viewed and added to the basket, exit intent when the pointer leaves
through the top of the window, cart recovery on the next visit; a checkout whose order and
email arrive, and the store locator; the events arrive in Juncture in Segment's layout (the
page tracks with Segment's own browser library), and no page logs an error or loses a
request."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from juncture import wiring
from juncture.demo import storefront
from tests.browser.conftest import PageProblems, screenshot
from tests.conftest import WRITE_KEY, LiveServer, settings_for, stored

POPOVER = ".jn-root [role=dialog]"


@pytest.fixture
def shop_live(database_url: str) -> Iterator[LiveServer]:
    juncture = wiring.build(settings_for(database_url))
    app = juncture.app()
    storefront.mount(app, WRITE_KEY, juncture.store, juncture.clock)
    server = LiveServer(juncture, app).start()
    yield server
    server.stop()


def open_page(page: Any, url: str) -> None:
    page.goto(url)
    page.wait_for_selector("html[data-shop-ready][data-juncture-ready]", state="attached")


def popover_kind(page: Any) -> str:
    page.wait_for_selector(POPOVER)
    return str(page.get_attribute(".jn-root", "data-juncture-kind"))


def leave_through_the_top(page: Any) -> None:
    page.mouse.move(640, 300)
    page.mouse.move(640, 5, steps=5)
    page.mouse.move(640, -20)


def follow(page: Any, selector: str) -> None:
    """Click a link once the page's events have left (a request still under way when the
    page goes is sent with keepalive and arrives, but Playwright counts it as failed)."""
    page.wait_for_load_state("networkidle")
    page.click(selector)


def add_first_product(page: Any) -> str:
    follow(page, "main .grid .card h3 a")
    page.wait_for_selector("#add")
    title = page.inner_text("main h1")
    page.click("#add")
    page.wait_for_selector("#add:has-text('Added')")
    return str(title)


def arrived(page: Any, live: LiveServer, visitor: str, track: tuple[str, str | None]) -> None:
    """Waits (through the page) until the visitor's ``(event, creative)`` is stored."""
    for _ in range(300):
        events = stored(live, anonymousId=visitor)
        if track in {(e.get("event"), e.get("properties", {}).get("creative")) for e in events}:
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"{track} did not arrive")


def test_a_shopper_s_two_visits(
    shop_live: LiveServer, page: Any, page_problems: PageProblems
) -> None:
    open_page(page, f"{shop_live.url}/demo/")
    assert popover_kind(page) == "welcome"
    assert page.get_attribute(POPOVER, "aria-modal") == "true"
    screenshot(page, "storefront-welcome")
    page.keyboard.press("Escape")
    page.wait_for_selector(".jn-root", state="detached")

    follow(page, "main .chips a")
    first = add_first_product(page)
    follow(page, "a.brand")  # home again: no second popover in this visit
    page.wait_for_selector("html[data-juncture-ready]", state="attached")
    assert page.query_selector(".jn-root") is None
    page.wait_for_selector("html[data-shop-ready]", state="attached")
    leave_through_the_top(page)  # too soon on the page: nothing asked yet
    page.wait_for_timeout(300)
    assert page.query_selector(".jn-root") is None
    page.wait_for_timeout(3000)
    leave_through_the_top(page)
    assert popover_kind(page) == "exit_intent"
    screenshot(page, "storefront-exit-intent")
    page.fill(".jn-body input[type=email]", "shopper@example.com")  # keep my picks
    page.click(".jn-body form button")
    page.wait_for_selector(".jn-thanks")
    page.click(".jn-close")
    anonymous_id = page.evaluate("analytics.user().then(u => u.anonymousId())")
    # Segment's library sends the dismissal after its own queue: closing the page before it
    # went would lose it (a load state says nothing of requests after the page loaded)
    arrived(page, shop_live, anonymous_id, ("Promotion Dismissed", "exit_intent"))
    page.close()

    again = page.context.new_page()
    open_page(again, f"{shop_live.url}/demo/")
    assert popover_kind(again) == "cart_recovery"
    assert first in again.inner_text(POPOVER)
    screenshot(again, "storefront-cart-recovery")
    again.wait_for_load_state("networkidle")
    again.click(".jn-body a")  # the reminder's link leads to the basket
    again.wait_for_url("**/demo/cart")
    again.wait_for_selector("main table")
    assert first in again.inner_text("main table")
    arrived(again, shop_live, anonymous_id, ("Promotion Clicked", "cart_recovery"))

    events = stored(shop_live, anonymousId=anonymous_id)
    tracks = [(e["event"], e["properties"].get("creative")) for e in events if e["type"] == "track"]
    assert ("Product List Viewed", None) in tracks
    assert ("Product Viewed", None) in tracks
    assert ("Product Added", None) in tracks
    shown = [kind for name, kind in tracks if name == "Promotion Viewed"]
    assert shown == ["welcome", "exit_intent", "cart_recovery"]
    assert [k for n, k in tracks if n == "Promotion Dismissed"] == ["welcome", "exit_intent"]
    assert [k for n, k in tracks if n == "Promotion Clicked"] == ["cart_recovery"]
    for event in events:
        assert event["context"]["library"]["name"] == "analytics.js"
        assert event["messageId"].startswith("ajs-next-")
        assert event["context"]["page"]["path"].startswith("/demo/")
    assert ("Form Submitted", "exit_intent") in tracks
    [kept] = [e for e in events if e["type"] == "identify"]  # the email left on the way out
    assert kept["traits"] == {"email": "shopper@example.com"}
    added = next(e for e in events if e.get("event") == "Product Added")
    assert added["properties"]["name"] == first
    assert set(added["properties"]) >= {"product_id", "sku", "price", "quantity", "currency"}
    page_problems.assert_none()


def test_a_shopper_checks_out_and_finds_the_stores(
    shop_live: LiveServer, page: Any, page_problems: PageProblems
) -> None:
    open_page(page, f"{shop_live.url}/demo/")
    popover_kind(page)  # the welcome, closed
    page.keyboard.press("Escape")
    follow(page, "main .chips a")
    title = add_first_product(page)
    follow(page, "#cart-link")
    page.wait_for_selector("html[data-shop-ready]", state="attached")
    follow(page, "main a[href='/demo/checkout']")
    page.wait_for_selector("form.checkout")
    screenshot(page, "storefront-checkout")
    page.fill("form.checkout input[type=email]", "Buyer@Example.com")
    page.click("form.checkout button")
    page.wait_for_selector("main h1:has-text('Thank you')")
    assert page.inner_text("#cart-count") == "0"
    anonymous_id = page.evaluate("analytics.user().then(u => u.anonymousId())")
    arrived(page, shop_live, anonymous_id, ("Order Completed", None))
    events = stored(shop_live, anonymousId=anonymous_id)
    (order,) = [e for e in events if e.get("event") == "Order Completed"]
    assert order["context"]["library"]["name"] == "analytics.js"
    assert order["properties"]["order_id"].startswith("o-")
    assert [p["name"] for p in order["properties"]["products"]] == [title]
    identified = [e for e in events if e["type"] == "identify"]
    assert identified[-1]["traits"]["email"] == "buyer@example.com"

    follow(page, "nav a[href='/demo/stores']")
    page.wait_for_selector("main h1:has-text('Our stores')")
    catalog = httpx.get(f"{shop_live.url}/demo/catalog.json").json()
    names = page.locator("main .card h3").all_inner_texts()
    assert names == [s["name"] for s in catalog["stores"]] and names
    screenshot(page, "storefront-stores")
    page.wait_for_load_state("networkidle")
    page_problems.assert_none()
