"""``juncture bench dashboard`` runs, bounded, on a small synthetic store: the whole log is
counted into the activity summary (timed), every heavy page answers 200 against the floor,
and Funnels and paths and Reports, computed in the background, are asked until their
figures are there."""

from __future__ import annotations

from juncture.bench import dashboard


def test_bench_dashboard_times_every_page_on_a_small_store() -> None:
    lines: list[str] = []
    result = dashboard.run(demo_url=None, profiles=2000, events=6000, repeat=1, echo=lines.append)
    scale = result["scale"]
    assert scale["summary_s"] >= 0
    pages = {row["path"]: row for row in scale["pages"]}
    assert set(dashboard.PAGES) <= set(pages)
    assert not any(row.get("timed_out") for row in pages.values())
    assert pages["/healthz"]["ratio_to_floor"] == 1.0
    for path in ("/app/funnels?period=30d", "/app/reports?period=30d"):
        computed = pages[path]
        assert computed["median_ms"] > 0
        assert computed["ready_ms"] is None or computed["ready_ms"] > 0  # waited for, or at once
    assert any("activity summary" in line for line in lines)
