"""Each role sees only the buttons it may use, in real headless Chromium over a seeded demo:
the analyst (read) and support (read, privacy) roles see no pause, resume, archive, edit,
apply, replay, retry or save; only the admin and support roles see export and erasure; the
marketer (read, write) sees the changes but not the privacy actions. Pages a role opens
show no console error and no failed request."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any, Final

import httpx
import pytest
import sqlalchemy as sa

from juncture.store import tables
from tests.browser import seeded
from tests.browser.conftest import PageProblems, screenshot
from tests.conftest import ADMIN, LiveServer

pytestmark = pytest.mark.slow

JOURNEY: Final = "browse_abandonment"
# per role: may it write (journeys, segments, replays), may it export and erase
ROLES: Final = {
    "admin": (True, True),
    "marketer": (True, False),
    "analyst": (False, False),
    "support": (False, True),
}


@pytest.fixture(scope="module")
def demo(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    url = seeded.demo_database(sqlite_template, tmp_path_factory.mktemp("roles"))
    for server in seeded.serve(url):
        for role in ROLES:
            body = {"role": role, "password": f"{role}-password"}
            r = httpx.put(f"{server.url}/v1/users/{role}-user", json=body, headers=ADMIN)
            assert r.status_code == 200, r.text
        yield server


def customer_of(demo: LiveServer) -> str:
    with demo.juncture.store.engine.connect() as conn:
        p = tables.profiles
        query = sa.select(p.c.profile_id).where(p.c.redirect_to.is_(None)).limit(1)
        return str(conn.execute(query).scalar_one())


def sign_in_as(page: Any, base: str, role: str) -> None:
    page.goto(f"{base}/app/journeys")
    page.fill("#name", f"{role}-user")
    page.fill("#password", f"{role}-password")
    page.click("#password >> xpath=ancestor::form//button[@type='submit']")
    page.wait_for_url(f"{base}/app/journeys")


def count(page: Any, selector: str) -> int:
    return int(page.locator(selector).count())


@pytest.mark.parametrize("role", list(ROLES))
def test_a_role_sees_only_the_buttons_it_may_use(
    page: Any, page_problems: PageProblems, demo: LiveServer, role: str
) -> None:
    write, privacy = ROLES[role]
    base = demo.url
    sign_in_as(page, base, role)
    assert count(page, "a[href='/app/journeys/new']") == int(write)
    page.goto(f"{base}/app/journeys/{JOURNEY}")
    page.wait_for_selector("#totals")
    assert count(page, "[data-action]") == (3 if write else 0)  # pause, resume, archive
    assert count(page, f"a[href='/app/journeys/{JOURNEY}/edit']") == int(write)
    screenshot(page, f"dashboard-role-{role}-journey")
    page.goto(f"{base}/app/journeys/{JOURNEY}/edit")
    page.wait_for_selector("#verdict.ok")  # the draft is still checked as you type
    assert count(page, "#apply") == int(write)
    assert count(page, "#dry-run") == 1  # a dry run writes nothing: every role may
    page.goto(f"{base}/app/customers/{customer_of(demo)}")
    assert count(page, "#erase") == int(privacy)
    assert count(page, "a[download]") == int(privacy)
    page.goto(f"{base}/app/data")
    assert count(page, "#quarantine tbody tr[data-id]") > 0  # the rows are there for all
    assert count(page, "[data-replay]") > 0 if write else count(page, "[data-replay]") == 0
    assert count(page, "[data-retry]") > 0 if write else count(page, "[data-retry]") == 0
    page.goto(f"{base}/app/segments")
    # The page counts its draft as it opens: leaving before the answer aborts the request.
    page.wait_for_selector("#draft-result.ok, #draft-result.error", timeout=60_000)
    assert count(page, "#save-segment") == int(write)
    page.goto(f"{base}/app/reports?period=7d")  # every role reads the KPI reports
    page.wait_for_selector("#computed", timeout=60_000)  # a busy machine: it reloads till ready
    assert count(page, "a.csv") == count(page, "section.report") == 11
    page_problems.assert_none()


def test_a_read_role_is_still_refused_a_change_it_forges(
    page: Any, page_problems: PageProblems, demo: LiveServer
) -> None:
    """Hiding a button is for people; the server still checks each request's scope."""
    sign_in_as(page, demo.url, "analyst")
    answer = page.evaluate(
        """async (id) => {
             const r = await fetch(`/app/api/journeys/${id}/pause`, {method: "POST"});
             return r.status;
           }""",
        JOURNEY,
    )
    assert answer == 403
    page_problems.failed.clear()  # that 403 was asked for
    page_problems.console.clear()
    page_problems.assert_none()
