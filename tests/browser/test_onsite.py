"""``/v1/juncture.js`` in real headless Chromium on a shop of another origin without
analytics.js (the script keeps its own anonymous id and sends its own events): each of the
nine popover kinds rendered from Juncture's decision, inline slots, the countdown, the forms,
keyboard use (focus trap, Escape, focus returned), styling, and the events it reports."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from segment.analytics.client import Client

from juncture.store.placements import Placements
from tests.browser import shop
from tests.browser.conftest import PageProblems, screenshot
from tests.conftest import ADMIN, BASIC, WRITE_KEY, LiveServer, caught_up, signed, stored
from tests.e2e.test_decide_http import queue

VISITOR = "a-onsite-visitor"
POPOVER = ".jn-root [role=dialog]"
Site = tuple[shop.Shop, LiveServer]


@pytest.fixture
def site(sqlite_url: str) -> Iterator[Site]:
    # SQLite only: these test the page, and what they store is the decide and tracking paths
    # that the e2e tests and test_storefront run on every store.
    with shop.beside(sqlite_url) as both:
        yield both


def tag(live: LiveServer, **attrs: str) -> str:
    extra = "".join(f' data-{k.replace("_", "-")}="{v}"' for k, v in attrs.items())
    src = f"{live.url}/v1/juncture.js"
    return f'<script src="{src}" defer data-write-key="{WRITE_KEY}"{extra}></script>'


def open_shop(page: Any, site: Site, body: str = "", **attrs: str) -> None:
    """The shop's page with the script tag, for a visitor whose id the page already keeps."""
    front, live = site
    front.pages["/"] = shop.html(tag(live, **attrs), body)
    front.pages["/p1"] = shop.html("", "<h1>Trail Shoe</h1>")
    page.add_init_script(f"localStorage.setItem('juncture.anonymousId', '{VISITOR}')")
    page.goto(f"{front.url}/")
    page.wait_for_selector("html[data-juncture-ready]", state="attached")


def track(live: LiveServer, event: str, **properties: Any) -> None:
    """What the shop's own tracker would have sent for this visitor."""
    body = {"anonymousId": VISITOR, "event": event, "properties": properties,
            "messageId": str(uuid.uuid4())}  # fmt: skip
    assert httpx.post(f"{live.url}/v1/track", json=body, headers=BASIC).status_code == 200
    caught_up(live.juncture)  # the visitor's profile is in before it is read


def queued(live: LiveServer, kind: str, placement: str = "any", **payload: Any) -> None:
    """An on-site message a journey queued for the visitor (a known profile by then)."""
    track(live, "Product Viewed", product_id="p1", name="Trail Shoe", price=59.5)
    pid = Placements(live.juncture.store.engine).resolve([f"anonymous_id:{VISITOR}"])
    assert pid is not None
    queue(live, pid, f"test:{kind}", kind=kind, placement=placement, **payload)


def reported(page: Any, live: LiveServer, event: str, count: int = 1) -> list[dict[str, Any]]:
    """The visitor's ``event``s once ``count`` arrived (waiting through the page)."""
    for _ in range(50):
        found = [e for e in stored(live, anonymousId=VISITOR) if e.get("event") == event]
        if len(found) >= count:
            return found
        page.wait_for_timeout(100)
    raise AssertionError(f"{event} did not arrive")


def dialog_of(page: Any, kind: str) -> Any:
    page.wait_for_selector(POPOVER)
    assert page.get_attribute(".jn-root", "data-juncture-kind") == kind
    dialog = page.query_selector(POPOVER)
    assert dialog.get_attribute("aria-modal") == "true"
    title = page.query_selector(f"#{dialog.get_attribute('aria-labelledby')}")
    assert title is not None and title.inner_text().strip()
    return dialog


QUEUED: dict[str, dict[str, Any]] = {
    # Its items are the recommender's (none here): the title shows it came from the decision.
    "product_recommendation": {"title": "Shoes you may like"},
    "retargeting": {"product": {"name": "Trail Shoe", "url": "/p1"}},
    "email_my_basket": {},
    "data_capture": {"offer": {"title": "Stay in touch", "text": "News, now and then."}},
    "survey": {"survey": {"question": "How likely are you to recommend us?"}},
}
SHOWS = {
    "product_recommendation": "Shoes you may like",
    "retargeting": "Trail Shoe is still here",
    "email_my_basket": "in your basket to your inbox",
    "data_capture": "News, now and then.",
    "survey": "How likely are you to recommend us?",
}


def test_a_first_visit_is_welcomed_and_the_impression_reported(
    site: Site, page: Any, page_problems: PageProblems
) -> None:
    open_shop(page, site, placement="home")
    dialog = dialog_of(page, "welcome")
    assert "Take a look around" in dialog.inner_text()
    screenshot(page, "onsite-welcome")
    [viewed] = reported(page, site[1], "Promotion Viewed")
    assert viewed["properties"]["creative"] == "welcome"
    assert viewed["properties"]["position"] == "home"
    assert viewed["properties"]["name"] == "welcome"  # the kind, never a greeting by name
    assert viewed["context"]["library"]["name"] == "juncture.js"
    assert viewed["context"]["page"]["url"] == f"{site[0].url}/"
    assert viewed["messageId"]
    page_problems.assert_none()


def test_a_cart_brings_cart_recovery(site: Site, page: Any, page_problems: PageProblems) -> None:
    track(site[1], "Product Added", product_id="p1", name="Trail Shoe", price=59.5, quantity=2)
    open_shop(page, site, placement="home")
    assert "Trail Shoe x 2" in dialog_of(page, "cart_recovery").inner_text()
    page_problems.assert_none()


@pytest.mark.parametrize("kind", sorted(QUEUED))
def test_each_queued_kind_is_shown(
    site: Site, page: Any, page_problems: PageProblems, kind: str
) -> None:
    if kind == "email_my_basket":  # shown only with something in the basket
        track(site[1], "Product Added", product_id="p1", name="Trail Shoe", price=59.5)
    queued(site[1], kind, **QUEUED[kind])
    open_shop(page, site, placement="home")
    assert SHOWS[kind] in dialog_of(page, kind).inner_text()
    page_problems.assert_none()


def test_a_time_sensitive_offer_counts_down(
    site: Site, page: Any, page_problems: PageProblems
) -> None:
    ends = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=2)).isoformat()
    queued(
        site[1], "time_sensitive_offer", offer={"text": "20% off rain gear"}, data={"endsAt": ends}
    )
    open_shop(page, site, placement="home")
    dialog_of(page, "time_sensitive_offer")
    first = int(page.get_attribute(".jn-countdown", "data-seconds-left"))
    assert 7100 < first <= 7200
    assert page.inner_text(".jn-countdown").startswith("Ends in 01:5")
    page.wait_for_timeout(1100)
    assert int(page.get_attribute(".jn-countdown", "data-seconds-left")) < first
    screenshot(page, "onsite-time-sensitive-offer")
    page_problems.assert_none()


def test_leaving_through_the_top_with_a_cart_shows_exit_intent(
    site: Site, page: Any, page_problems: PageProblems
) -> None:
    track(site[1], "Product Added", product_id="p1", name="Trail Shoe", price=59.5, quantity=1)
    open_shop(page, site, exit_dwell="1")
    page.mouse.move(600, 300)
    page.mouse.move(600, -20)  # before the dwell: not asked
    page.wait_for_timeout(1200)
    assert page.query_selector(".jn-root") is None
    page.mouse.move(600, 300)
    page.mouse.move(600, -20)
    dialog_of(page, "exit_intent")
    [viewed] = reported(page, site[1], "Promotion Viewed")
    assert viewed["properties"]["position"] == "exit"
    page_problems.assert_none()


def test_an_inline_slot_is_filled_in_the_page(
    site: Site, page: Any, page_problems: PageProblems
) -> None:
    queued(site[1], "retargeting", placement="product", **QUEUED["retargeting"])
    slot = '<main><h1>Shop</h1><section data-juncture-slot="product"></section></main>'
    open_shop(page, site, slot)
    page.wait_for_selector("section.jn-inline[data-juncture-kind=retargeting]")
    assert "Trail Shoe is still here" in page.inner_text("section.jn-inline")
    assert page.query_selector(".jn-root") is None  # inline, not a dialog
    [viewed] = reported(page, site[1], "Promotion Viewed")
    assert viewed["properties"]["position"] == "product"
    screenshot(page, "onsite-inline-slot")
    page_problems.assert_none()


def test_keyboard_focus_is_trapped_and_escape_returns_it(
    site: Site, page: Any, page_problems: PageProblems
) -> None:
    queued(site[1], "data_capture", **QUEUED["data_capture"])
    open_shop(page, site, '<button id="before">Menu</button>')
    page.focus("#before")
    page.evaluate("Juncture.show('home')")
    dialog_of(page, "data_capture")
    inside = "document.querySelector('.jn-dialog').contains(document.activeElement)"
    assert page.evaluate("document.activeElement.type") == "email"  # the first field
    for key in ("Tab", "Tab", "Tab", "Shift+Tab", "Shift+Tab", "Shift+Tab", "Shift+Tab"):
        page.keyboard.press(key)
        assert page.evaluate(inside), key
    page.keyboard.press("Escape")
    page.wait_for_selector(".jn-root", state="detached")
    assert page.evaluate("document.activeElement.id") == "before"
    [dismissed] = reported(page, site[1], "Promotion Dismissed")
    assert dismissed["properties"]["how"] == "escape"
    page_problems.assert_none()


def test_forms_report_their_answers_and_put_no_email_in_a_url(
    site: Site, page: Any, page_problems: PageProblems
) -> None:
    queued(site[1], "survey", **QUEUED["survey"])
    open_shop(page, site, placement="home")
    urls: list[str] = []
    page.on("request", lambda r: urls.append(r.url))
    dialog_of(page, "survey")
    page.fill(".jn-body input[name=score]", "9")
    page.click(".jn-body form button")
    page.wait_for_selector(".jn-thanks")
    [answer] = reported(page, site[1], "Survey Answered")
    assert answer["properties"]["score"] == 9
    assert answer["properties"]["survey"] == "nps"
    page.click(".jn-close")
    track(site[1], "Product Added", product_id="p1", name="Trail Shoe", price=59.5)
    queued(site[1], "email_my_basket")
    page.evaluate("Juncture.show('home')")
    dialog_of(page, "email_my_basket")
    page.fill(".jn-body input[type=email]", "  Ada@Example.COM ")
    page.click(".jn-body form button")
    [form] = reported(page, site[1], "Form Submitted")
    assert form["properties"]["form_id"] == "email_my_basket"
    identifies = [e for e in stored(site[1], anonymousId=VISITOR) if e["type"] == "identify"]
    assert [e["traits"]["email"] for e in identifies] == ["ada@example.com"]
    assert not [u for u in urls if "example" in u.lower() or "%40" in u]
    page_problems.assert_none()


def test_a_click_in_a_popover_is_reported(
    site: Site, page: Any, page_problems: PageProblems
) -> None:
    queued(site[1], "retargeting", **QUEUED["retargeting"])
    open_shop(page, site, placement="home")
    dialog_of(page, "retargeting")
    page.click(".jn-body a")
    page.wait_for_url("**/p1")
    [clicked] = reported(page, site[1], "Promotion Clicked")
    assert (clicked["properties"]["creative"], clicked["properties"]["url"]) == (
        "retargeting",
        "/p1",
    )
    # Sent with keepalive as the page went (the click, and on a slow machine the view still
    # under way): both arrived, though Playwright, watching the page that left, counts them as
    # cut off.
    reported(page, site[1], "Promotion Viewed")
    assert set(page_problems.failed) <= {f"POST {site[1].url}/v1/t"}
    assert not page_problems.console


def test_the_shop_s_custom_properties_style_the_popover(
    site: Site, page: Any, page_problems: PageProblems
) -> None:
    style = "<style>:root{--jn-bg:rgb(10, 20, 30);--jn-fg:rgb(250, 250, 250)}</style>"
    open_shop(page, site, style, placement="home")
    dialog = dialog_of(page, "welcome")
    colours = dialog.evaluate(
        "d => [getComputedStyle(d).backgroundColor, getComputedStyle(d).color]"
    )
    assert colours == ["rgb(10, 20, 30)", "rgb(250, 250, 250)"]
    page_problems.assert_none()


SURVEY_AFTER_ORDER = """\
id: survey_after_order
version: 1
name: Ask how it went, on the next visit
nodes:
  - {id: ordered, type: trigger, event: Order Completed, next: ask}
  - {id: ask, type: send, channel: onsite, kind: survey, template: onsite_survey, next: done}
  - {id: done, type: exit}
"""


def test_a_signed_in_shopper_sees_what_a_journey_queued_for_them(
    site: Site, page: Any, page_problems: PageProblems
) -> None:
    """The whole way: a journey applied over the admin API, the order tracked by Segment's
    Python client, the page proving who is signed in with the hash the shop's backend signed."""
    _, live = site
    yaml = {**ADMIN, "Content-Type": "application/yaml"}
    answer = httpx.post(f"{live.url}/v1/journeys", content=SURVEY_AFTER_ORDER, headers=yaml)
    assert answer.status_code == 201, answer.text
    client = Client(WRITE_KEY, host=live.url, sync_mode=True)
    client.track("u-shopper", "Order Completed", {"order_id": "o1", "total": 42.0})
    client.flush()
    open_shop(page, site, placement="account", user_id="u-shopper", user_hash=signed("u-shopper"))
    dialog_of(page, "survey")
    [viewed] = reported(page, live, "Promotion Viewed")
    assert viewed["userId"] == "u-shopper"
    assert viewed["properties"]["journey_id"] == "survey_after_order"
    page_problems.assert_none()


def test_a_user_id_without_its_proof_sees_nothing_of_theirs(
    site: Site, page: Any, page_problems: PageProblems
) -> None:
    _, live = site
    client = Client(WRITE_KEY, host=live.url, sync_mode=True)
    client.track("u-victim", "Product Added", {"product_id": "p1", "name": "Trail Shoe"})
    client.flush()
    open_shop(page, site, placement="home", user_id="u-victim", user_hash="00" * 32)
    dialog_of(page, "welcome")  # the anonymous visitor's own first visit, not their basket
    proven = page.context.new_page()
    open_shop(proven, site, placement="cart", user_id="u-victim", user_hash=signed("u-victim"))
    assert "Trail Shoe" in dialog_of(proven, "cart_recovery").inner_text()
    page_problems.assert_none()


def test_on_a_touch_screen_the_back_button_is_the_exit(
    site: Site, browser: Any, page_problems: PageProblems
) -> None:
    phone = browser.new_context(
        viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True
    )
    page = phone.new_page()
    page.on(
        "console", lambda m: page_problems.console.append(m.text) if m.type == "error" else None
    )
    track(site[1], "Product Added", product_id="p1", name="Trail Shoe", price=59.5, quantity=1)
    open_shop(page, site, exit_dwell="1")
    assert page.evaluate("matchMedia('(pointer: coarse)').matches")
    page.wait_for_function("history.state && history.state.juncture === 'exit'")
    page.go_back()
    dialog_of(page, "exit_intent")
    assert page.url.startswith(site[0].url)  # still on the shop's page
    screenshot(page, "onsite-exit-intent-touch")
    phone.close()
    page_problems.assert_none()
