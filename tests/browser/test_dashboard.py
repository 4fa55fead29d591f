"""Every dashboard page in real headless Chromium over a seeded demo: real data rendered,
no console errors and no failed requests; a screenshot of each page kept as an artifact."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser import seeded
from tests.browser.conftest import PageProblems, screenshot
from tests.conftest import LiveServer

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def demo(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveServer]:
    url = seeded.demo_database(sqlite_template, tmp_path_factory.mktemp("dashboard"))
    yield from seeded.serve(url)


def numbers(page: Any, selector: str) -> list[float]:
    return [float(t.replace(",", "")) for t in page.locator(selector).all_inner_texts()]


def test_overview_charts_the_demos_activity(
    page: Any, page_problems: PageProblems, demo: LiveServer
) -> None:
    seeded.sign_in(page, demo.url)
    tiles = page.locator("#tiles")
    events = float(tiles.locator("[data-key=events]").inner_text().replace(",", ""))
    orders = float(tiles.locator("[data-key=orders]").inner_text().replace(",", ""))
    assert events > 100
    assert orders > 0
    assert "ends at the newest event" in page.locator("#window").inner_text()
    # Chart.js drew each chart: a sized canvas with a chart attached
    for chart in ("events", "orders", "messages", "stages"):
        drawn = page.evaluate(
            "id => { const c = Chart.getChart(id); return c ? c.data.datasets.length : 0 }",
            f"chart-{chart}",
        )
        assert drawn > 0, chart
    plotted = page.evaluate("Chart.getChart('chart-events').data.datasets[0].data")
    assert sum(plotted) > 0
    page.select_option("#period", "30d")
    page.wait_for_url("**/app?period=30d")
    assert page.locator("#period").input_value() == "30d"
    screenshot(page, "dashboard-overview")
    page_problems.assert_none()
