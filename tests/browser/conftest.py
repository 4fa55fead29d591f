"""Real headless Chromium for page tests (Debian's ``chromium`` driven by Playwright).

``scripts/setup-browser`` installs the browser; where it is absent these tests are skipped
with that reason shown. Every page a test opens records the browser console's errors and
the requests that failed, and ``page_problems`` fails a test that leaves any. Screenshots go
to ``test-artifacts/`` (or ``JUNCTURE_TEST_ARTIFACTS``), kept after the run.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("JUNCTURE_CHROMIUM") or shutil.which("chromium") or ""
NO_BROWSER = (
    "no Chromium found (run scripts/setup-browser, or set JUNCTURE_CHROMIUM): browser tests skipped"
)
ARTIFACTS = Path(os.environ.get("JUNCTURE_TEST_ARTIFACTS", "test-artifacts"))

pytestmark = pytest.mark.slow


# One browser per test module, not per session: while Playwright's synchronous API is open
# the main thread has a running event loop, so a later test elsewhere calling asyncio.run
# (the dispatcher's tests do) would fail if the browser outlived this folder.
@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM:
        pytest.skip(NO_BROWSER)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - playwright is a test dependency
        pytest.skip("playwright is not installed: browser tests skipped")
    with sync_playwright() as p:
        chromium = p.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"]
        )
        yield chromium
        chromium.close()


@dataclass
class PageProblems:
    """What went wrong in a page: console errors, uncaught exceptions, failed requests."""

    console: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)

    def assert_none(self) -> None:
        assert not self.console, f"console errors: {self.console}"
        assert not self.failed, f"failed requests: {self.failed}"


@pytest.fixture
def page_problems() -> PageProblems:
    return PageProblems()


@pytest.fixture
def page(browser: Any, page_problems: PageProblems) -> Iterator[Any]:
    """A fresh browser context (no cookies, no storage) and one page in it, watched."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    pg = context.new_page()

    def on_console(msg: Any) -> None:
        if msg.type == "error":
            page_problems.console.append(msg.text)

    pg.on("console", on_console)
    pg.on("pageerror", lambda exc: page_problems.console.append(f"uncaught: {exc}"))
    pg.on("requestfailed", lambda req: page_problems.failed.append(f"{req.method} {req.url}"))

    def on_response(resp: Any) -> None:
        if resp.status >= 400:
            page_problems.failed.append(f"{resp.status} {resp.request.method} {resp.url}")

    pg.on("response", on_response)
    yield pg
    context.close()


def screenshot(page: Any, name: str, *, full_page: bool = True) -> Path:
    """Save a screenshot (of the whole page, or of what the window shows) as a test
    artifact and return its path."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path
