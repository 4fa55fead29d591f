"""Customer 360 in real headless Chromium over a seeded demo: a demo customer meets the on-site
script on a shop of another origin (a popover shown, then closed with Escape), and their page
in the dashboard shows those impressions in the timeline and the stage they are at with the
history of when they entered each."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from juncture.core.stage import STAGE_CHANGED
from juncture.store import tables
from juncture.store.placements import Placements
from tests.browser import seeded, shop
from tests.browser.conftest import PageProblems, screenshot
from tests.conftest import WRITE_KEY, LiveServer, stored
from tests.e2e.test_decide_http import queue

pytestmark = pytest.mark.slow
POPOVER = ".jn-root [role=dialog]"
Site = tuple[shop.Shop, LiveServer]


@pytest.fixture(scope="module")
def site(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    url = seeded.demo_database(sqlite_template, tmp_path_factory.mktemp("customer360"))
    with shop.beside(url) as both:
        yield both


def shopper(live: LiveServer) -> tuple[str, str]:
    """A demo customer who has ordered and whose stage moved more than once: an anonymous id
    of theirs and their live profile id."""
    i, e = tables.identities, tables.events
    moves = (
        sa.select(e.c.profile_id)
        .where(e.c.event == STAGE_CHANGED)
        .group_by(e.c.profile_id)
        .having(sa.func.count() > 1)
    )
    query = (
        sa.select(i.c.identifier)
        .where(i.c.identifier.startswith("anonymous_id:"), i.c.profile_id.in_(moves))
        .order_by(i.c.identifier)
        .limit(1)
    )
    with live.juncture.store.engine.connect() as conn:
        identifier = str(conn.execute(query).scalar_one())
    pid = Placements(live.juncture.store.engine).resolve([identifier])
    assert pid is not None
    return identifier.split(":", 1)[1], pid


def reported(page: Any, live: LiveServer, visitor: str, event: str) -> None:
    for _ in range(50):
        if any(e.get("event") == event for e in stored(live, anonymousId=visitor)):
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"{event} did not arrive")


def test_a_customer_s_page_shows_on_site_impressions_and_the_stage_history(
    site: Site, page: Any, page_problems: PageProblems
) -> None:
    front, live = site
    visitor, pid = shopper(live)
    queue(live, pid, "c360:retargeting", kind="retargeting", purpose="transactional",
          product={"name": "Trail Shoe", "url": "/p1"})  # fmt: skip
    script = f'<script src="{live.url}/v1/juncture.js" defer data-write-key="{WRITE_KEY}"'
    front.pages["/"] = shop.html(f'{script} data-placement="home"></script>')
    page.add_init_script(f"localStorage.setItem('juncture.anonymousId', '{visitor}')")
    page.goto(f"{front.url}/")
    page.wait_for_selector(POPOVER)
    reported(page, live, visitor, "Promotion Viewed")
    page.keyboard.press("Escape")
    page.wait_for_selector(".jn-root", state="detached")
    reported(page, live, visitor, "Promotion Dismissed")

    seeded.sign_in(page, live.url, f"/app/customers/{pid}")
    onsite = page.locator("#timeline tbody tr.on-site")
    assert onsite.count() == 2
    texts = onsite.all_inner_texts()
    assert "retargeting dismissed" in texts[0] and "how: escape" in texts[0]
    assert "retargeting shown" in texts[1] and "position: home" in texts[1]
    assert "browse_abandonment" in texts[1]  # the journey that queued it

    stages = page.locator("#stages tbody tr")
    assert stages.count() >= 3  # the first stage and at least two moves
    now = page.locator("h1 .pill").inner_text()
    assert stages.first.locator(".pill").inner_text() == now
    assert stages.last.inner_text().endswith("first seen")
    assert stages.last.locator(".pill").inner_text() == "awareness"
    screenshot(page, "dashboard-customer-360")
    page.evaluate("window.scrollTo(0, 0)")  # the top of the page, for docs/dashboard.md
    screenshot(page, "dashboard-customer-360-top", full_page=False)
    page_problems.assert_none()
