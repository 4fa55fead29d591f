"""Every dashboard page in real headless Chromium over a seeded demo: real data rendered,
no console errors and no failed requests; a screenshot of each page kept as an artifact."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from juncture.store import journeys as journey_store
from juncture.store import tables
from tests.browser import seeded
from tests.browser.conftest import PageProblems, screenshot
from tests.conftest import ADMIN, LiveServer

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
    for chart in ("events", "orders", "messages", "stages", "lag"):
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


def test_journeys_list_their_status_and_results(
    page: Any, page_problems: PageProblems, demo: LiveServer
) -> None:
    seeded.sign_in(page, demo.url, "/app/journeys")
    rows = page.locator("#journeys tbody tr")
    assert rows.count() == len(journey_store.library())  # the ready journeys the demo applied
    cart = page.locator("tr[data-journey=cart_abandonment]")
    assert float(cart.locator("[data-key=entered]").inner_text().replace(",", "")) > 0
    assert "active" in cart.inner_text()
    screenshot(page, "dashboard-journeys")
    page_problems.assert_none()


def test_a_journey_is_drawn_with_its_counts_and_can_be_paused(
    page: Any, page_problems: PageProblems, demo: LiveServer
) -> None:
    seeded.sign_in(page, demo.url, "/app/journeys/browse_abandonment")
    graph = page.evaluate(
        "() => ({nodes: journeyGraph.nodes().map(n => n.data('label')),"
        " edges: journeyGraph.edges().length,"
        " placed: new Set(journeyGraph.nodes().map(n => Math.round(n.position('y')))).size})"
    )
    assert len(graph["nodes"]) == 5
    # viewed > wait_add; wait_add > done (event) and > known_customer (timeout);
    # known_customer > remind and > done (else); remind > done
    assert graph["edges"] == 6
    assert graph["placed"] >= 3  # dagre laid the nodes out in ranks
    trigger = next(label for label in graph["nodes"] if label.startswith("viewed"))
    entered = int(trigger.split("in ", 1)[1].split(" ")[0].replace(",", ""))
    assert entered > 0
    table = page.locator("#nodes tbody tr").first.inner_text()
    assert str(entered) in table.replace(",", "")
    screenshot(page, "dashboard-journey")
    page.click("[data-action=pause]")
    page.wait_for_selector("#status.paused")
    page.click("[data-action=resume]")
    page.wait_for_selector("#status.active")
    page_problems.assert_none()


def test_the_editor_refuses_a_broken_definition_and_shows_where(
    page: Any, page_problems: PageProblems, demo: LiveServer
) -> None:
    seeded.sign_in(page, demo.url, "/app/journeys/welcome_series/edit")
    page.wait_for_selector("#verdict.ok")
    source = page.locator("#source").input_value()
    lines = source.splitlines()
    broken_line = next(i for i, line in enumerate(lines) if "type: exit" in line) + 1
    page.fill("#source", source.replace("type: exit", "type: exot", 1))
    page.wait_for_selector("#verdict.error")
    problem = page.locator("#problems li").first
    assert problem.get_attribute("data-line") == str(broken_line)
    assert "exot" in problem.inner_text() or "type" in problem.inner_text()
    assert page.locator("#apply").is_disabled()
    assert page.locator("#source").get_attribute("aria-invalid") == "true"
    problem.locator("button").click()  # the line is selected in the text
    selected = page.evaluate(
        "() => { const s = document.getElementById('source');"
        " return s.value.slice(s.selectionStart, s.selectionEnd) }"
    )
    assert "exot" in selected
    screenshot(page, "dashboard-journey-editor-problem")
    # the server refuses it too, whatever the page's button says
    answer = page.evaluate(
        "async text => { const r = await fetch('/app/api/journeys/apply', {method: 'POST',"
        " headers: {'Content-Type': 'application/json'}, body: JSON.stringify({text})});"
        " return [r.status, await r.json()] }",
        source.replace("type: exit", "type: exot", 1),
    )
    assert answer[0] == 422
    assert answer[1]["problems"][0]["line"] == broken_line
    page_problems.failed.clear()  # that 422 was asked for (Chromium logs it as well)
    page_problems.console.clear()
    # a valid change redraws the graph and applies as a new version
    renamed = source.replace("name: ", "name: Renamed ", 1)
    before = page.evaluate("journeyGraph.nodes().length")
    page.fill("#source", renamed)
    page.wait_for_selector("#verdict.ok")
    assert page.evaluate("journeyGraph.nodes().length") == before
    page.click("#apply")
    page.wait_for_url("**/app/journeys/welcome_series")
    assert page.locator("h1").inner_text().startswith("Renamed ")
    assert page.locator("#versions tbody tr").count() >= 2
    page.click("text=Versions side by side")  # the latest against the one before
    page.wait_for_url("**/app/journeys/welcome_series/versions")
    changed = page.locator("#compare tr.changed")
    assert changed.count() == 1
    old, new = changed.locator("td").all_inner_texts()
    assert new == old.replace("name: ", "name: Renamed ", 1)
    screenshot(page, "dashboard-versions")
    page_problems.assert_none()


def someone(demo: LiveServer) -> str:
    """The user id of a demo customer with an order and a suppressed message."""
    o, p, i = tables.outbox, tables.profiles, tables.identities
    query = (
        sa.select(i.c.identifier)
        .join(p, p.c.profile_id == i.c.profile_id)
        .join(o, o.c.profile_id == p.c.profile_id)
        .where(o.c.status == "suppressed", p.c.order_count > 0)
        .where(i.c.identifier.startswith("user_id:"))
        .order_by(i.c.identifier)
        .limit(1)
    )
    engine = sa.create_engine(demo.juncture.store.url)
    with engine.connect() as conn:
        identifier = conn.execute(query).scalar_one()
    engine.dispose()
    return str(identifier).split(":", 1)[1]


def test_customer_360_finds_a_customer_by_user_id_and_shows_everything(
    page: Any, page_problems: PageProblems, demo: LiveServer
) -> None:
    user_id = someone(demo)
    seeded.sign_in(page, demo.url, "/app/customers")
    assert page.locator("#recent tbody tr").count() > 5
    screenshot(page, "dashboard-customers")
    page.fill("#q", user_id)
    page.click("form.search button")
    page.wait_for_url(lambda url: "/app/customers/" in url)
    profile_id = page.url.rsplit("/", 1)[1]  # the live profile (events may name a merged one)
    assert int(page.locator("#orders [data-key=count]").inner_text()) >= 1
    identities = page.locator("#identities").inner_text()
    assert user_id in identities
    timeline = page.locator("#timeline tbody")
    assert timeline.locator("tr.event").count() > 0
    assert "Order Completed" in timeline.inner_text()
    suppressed = timeline.locator("tr.message", has=page.locator(".pill.suppressed")).first
    assert suppressed.locator(".reason").inner_text()  # the reason is shown
    assert page.locator("#journeys tbody tr").count() >= 1
    screenshot(page, "dashboard-customer")
    with page.expect_download() as download:
        page.click("text=Export every row")
    exported = Path(download.value.path()).read_text()
    assert profile_id in exported
    page_problems.assert_none()


def test_customer_search_says_when_nobody_matches(
    page: Any, page_problems: PageProblems, demo: LiveServer
) -> None:
    seeded.sign_in(page, demo.url, "/app/customers?q=nobody-has-this-id")
    assert "nobody-has-this-id" in page.locator("#none").inner_text()
    page_problems.assert_none()


def test_segments_list_sizes_members_and_count_a_draft(
    page: Any, page_problems: PageProblems, demo: LiveServer
) -> None:
    seeded.sign_in(page, demo.url, "/app/segments")
    row = page.locator("tr[data-segment=dach-active]")
    members = int(row.locator("[data-key=stored]").inner_text().replace(",", ""))
    assert members > 0
    page.wait_for_selector("#draft-result.ok")
    counted = page.locator("#draft-result").inner_text()
    assert counted.startswith("big_spenders: ")
    page.fill("#draft", "id: broken\nname: Broken\nwhere:\n  fact: revenue\n  gte: lots\n")
    page.wait_for_selector("#draft-result.error")
    assert "line" in page.locator("#problems li").first.inner_text()
    screenshot(page, "dashboard-segments")
    row.locator("a").click()
    page.wait_for_url("**/app/segments/dach-active")
    assert page.locator("#members tbody tr").count() == min(members, 100)
    assert page.evaluate("Chart.getChart('chart-history').data.labels.length") >= 1
    assert page.evaluate("Chart.getChart('chart-moves').data.datasets.length") == 2
    assert page.locator("#entered-rate").inner_text()  # entries per day, 0.0 when none
    screenshot(page, "dashboard-segment")
    page.locator("#members a").first.click()  # a member's Customer 360
    page.wait_for_url("**/app/customers/*")
    assert "dach-active" in page.locator("#memberships").inner_text()
    page_problems.assert_none()


def test_a_segment_is_counted_then_saved_with_its_members(
    page: Any, page_problems: PageProblems, demo: LiveServer
) -> None:
    seeded.sign_in(page, demo.url, "/app/segments")
    page.wait_for_selector("#draft-result.ok")  # the example draft, counted on opening
    page.fill("#draft", "id: dash_spenders\nname: Spenders\nwhere:\n  fact: revenue\n  gte: 50\n")
    page.locator("#draft-result.ok", has_text="dash_spenders").wait_for()
    counted = page.locator("#draft-result").inner_text()
    assert counted.startswith("dash_spenders: ")
    size = int(counted.split(": ")[1].split(" ")[0].replace(",", ""))
    assert size > 0
    page.click("#save-segment")
    page.wait_for_url("**/app/segments/dash_spenders")
    assert int(page.locator("#stored").inner_text().replace(",", "")) == size
    assert page.locator("#members tbody tr").count() == min(size, 100)
    page_problems.assert_none()


def pending(page: Any) -> int:
    """Messages waiting to be sent, as the delivery counts show them."""
    count = page.locator("#counts [data-status=pending]")
    return int(count.inner_text().replace(",", "")) if count.count() else 0


def test_quarantine_replays_and_dead_letters_retry(
    page: Any, page_problems: PageProblems, demo: LiveServer
) -> None:
    seeded.sign_in(page, demo.url, "/app/data")
    demo_source = page.locator("#quality tr[data-source=demo] [data-key=received]")
    assert int(demo_source.inner_text().replace(",", "")) > 100  # the simulated trackers
    quarantined = page.locator("#quarantine tbody tr[data-id]")
    assert quarantined.count() == 1
    assert "userId" in quarantined.inner_text() or "anonymousId" in quarantined.inner_text()
    dead = page.locator("#dead tbody tr[data-id]")
    assert dead.count() == 1
    assert "bad token" in dead.inner_text()
    assert page.locator("#deliveries tbody tr").count() > 10
    pending_before = pending(page)
    screenshot(page, "dashboard-data")
    # the message still has no id: replay keeps it in quarantine and says why
    quarantined.locator("button").click()
    page.locator("#action-result.ok", has_text="still failing 1").wait_for()
    assert quarantined.count() == 1  # it stays in quarantine
    dead.locator("button").click()
    page.locator("#action-result.ok", has_text="1 queued again").wait_for()
    page.wait_for_selector("#dead tbody tr[data-id]", state="detached")
    page.reload()  # the server holds it as pending again
    assert page.locator("#dead tbody tr[data-id]").count() == 0
    assert pending(page) == pending_before + 1
    page_problems.assert_none()


def test_experiments_and_catalogue_show_what_is_measured(
    page: Any, page_problems: PageProblems, demo: LiveServer
) -> None:
    seeded.sign_in(page, demo.url, "/app/experiments")
    page.wait_for_selector("#computed", timeout=60_000)  # a busy machine: it reloads till ready
    kpis = page.locator("#kpis tbody tr")
    assert kpis.count() >= 3
    assert "cart_abandonment" in page.locator("#kpis").inner_text()
    assert page.locator("#experiments .experiment").count() >= 1
    screenshot(page, "dashboard-experiments")
    bad = "store_code,id,quantity\nberlin,,3\nmunich,k1,many\n"  # refused whole: writes nothing
    r = httpx.post(f"{demo.url}/v1/catalog/inventory", content=bad, params={"filename": "bad.csv"},
                   headers={**ADMIN, "Content-Type": "text/csv"})  # fmt: skip
    assert r.status_code == 422, r.text
    page.goto(demo.url + "/app/catalogue")
    assert page.locator("#tables tr[data-table=products]").count() == 1
    imports = page.locator("#imports tbody tr[data-import]")
    assert imports.count() > 1  # the demo's own feeds, and the upload
    assert "bad.csv" in imports.first.inner_text()
    assert imports.first.locator(".pill.failed").inner_text() == "2"
    refused = page.locator("table.refused").first.locator("tbody tr")
    assert refused.all_inner_texts()[0].split("\t")[:2] == ["bad.csv:2", "id"]
    assert refused.all_inner_texts()[1].split("\t")[:2] == ["bad.csv:3", "quantity"]
    shown = page.locator("#touchpoints tbody tr", has=page.locator(".pill.shown"))
    # the demo's shoppers asking for touchpoints, and the first visitor's welcome
    assert shown.count() > 1
    assert shown.filter(has_text="welcome").count() == 1
    page.wait_for_selector("#outcomes", timeout=60_000)  # a busy machine: it reloads till ready
    expected = seeded.summary(demo.juncture.settings.database_url)["retail"]["touchpoints"]
    led = {
        row.get_attribute("data-touchpoint"): [
            int(row.locator(f"[data-key={k}]").inner_text().replace(",", ""))
            for k in ("shown", "clicked", "converted")
        ]
        for row in page.locator("#outcomes tbody tr[data-touchpoint]").all()
    }
    # the figures of the demo's summary, read back by the server, and the welcome the
    # first visitor to the served demo got since (shown as the answers count it)
    welcome = page.locator("#touchpoints tr", has_text="onsite_welcome").locator("td.num")
    assert led.pop("welcome") == [int(welcome.inner_text()), 0, 0]
    assert led == {k: [v["shown"], v["clicked"], v["converted"]] for k, v in expected.items()}
    assert sum(clicked for _, clicked, _ in led.values()) > 0
    screenshot(page, "dashboard-catalogue")
    page_problems.assert_none()


def test_funnels_and_paths_draw_the_demos_shoppers(
    page: Any, page_problems: PageProblems, demo: LiveServer
) -> None:
    seeded.sign_in(page, demo.url, "/app/funnels?period=30d")
    page.wait_for_selector("#funnel", timeout=60_000)  # a busy machine: it reloads till ready
    assert "Computed" in page.locator("#computed").inner_text()
    profiles = numbers(page, "#funnel [data-key=profiles]")
    assert len(profiles) == 4
    assert profiles[0] > 0
    assert profiles == sorted(profiles, reverse=True)  # each step is a subset of the one before
    flows = page.evaluate("Chart.getChart('chart-paths').data.datasets[0].data")
    assert flows
    step = [(int(f["from"].split(":")[0]), int(f["to"].split(":")[0])) for f in flows]
    assert all(b == a + 1 for a, b in step)  # each link goes one step on
    started = sum(f["flow"] for f in flows if f["from"] == "0:Product Viewed")
    summary = page.locator("#paths-summary").inner_text()
    assert started == int(summary.split(" ")[0].replace(",", ""))
    screenshot(page, "dashboard-funnels")
    page.fill("#steps", "Product Viewed")  # one step is not a funnel: refused with where
    with page.expect_response("**/app/funnels?**") as answer:
        page.click("form.search button >> nth=0")
    assert answer.value.status == 400
    assert answer.value.json()["where"] == "steps"
    page_problems.failed.clear()  # that 400 was asked for
    page_problems.console.clear()
    page_problems.assert_none()


def test_a_customer_is_erased_after_their_id_is_typed_back(
    page: Any, page_problems: PageProblems, demo: LiveServer
) -> None:
    seeded.sign_in(page, demo.url, "/app/customers")
    page.locator("#recent tbody tr a").last.click()
    page.wait_for_url("**/app/customers/p_*")
    profile_id = page.url.rsplit("/", 1)[1]
    answers = iter(["not the id"])
    page.on("dialog", lambda d: d.accept(next(answers, "")))
    page.click("#erase")  # a wrong confirmation erases nothing
    page.wait_for_selector("#action-result.note")
    assert page.locator("#orders").count() == 1
    answers = iter([profile_id, "ticket-42"])
    page.click("#erase")
    page.wait_for_url(f"**/app/customers?erased={profile_id}")
    assert profile_id in page.locator("#erased").inner_text()
    page.goto(f"{demo.url}/app/customers?q={profile_id}")
    assert page.locator("#none").count() == 1
    records = httpx.get(f"{demo.url}/v1/erasures", headers=ADMIN).json()["erasures"]
    assert records[0]["reference"] == "ticket-42"
    page_problems.assert_none()


def test_a_dry_run_shows_what_a_draft_would_have_done(
    page: Any, page_problems: PageProblems, demo: LiveServer
) -> None:
    seeded.sign_in(page, demo.url, "/app/journeys/browse_abandonment/edit")
    page.wait_for_selector("#verdict.ok")
    page.click("#dry-run")
    page.wait_for_selector("#rehearsal-summary.ok", timeout=120_000)
    summary = page.locator("#rehearsal-summary").inner_text()
    entered = int(summary.split(" would have entered")[0].rsplit(" ", 1)[1].replace(",", ""))
    assert entered > 0
    nodes = page.locator("#rehearsal-nodes tbody tr")
    assert nodes.count() >= 1
    assert "remind" in nodes.first.inner_text()
    screenshot(page, "dashboard-dry-run")
    page_problems.assert_none()
