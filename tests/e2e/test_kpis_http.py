"""KPI reports over real HTTP and the CLI on every store: shoppers sign up, a journey with a
holdout enrols them, some order (Segment's e-commerce ``Order Completed`` with products),
one order is sent twice; the reports agree with what was sent and with the journey report
computed in Python (``/v1/measure/journeys``), as JSON and CSV, and bad input is refused
with where."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import uuid
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from juncture.cli.main import app
from tests.conftest import ADMIN, BASIC, LiveServer, caught_up
from tests.e2e.test_measure_http import track

CUSTOMERS = 40
JOURNEY = """\
id: signup_offer
version: 1
name: Sign-up offer
holdout: 30
goal:
  event: Order Completed
  within: 7d
nodes:
  - {id: signed_up, type: trigger, event: Signed Up, next: pick}
  - id: pick
    type: split
    branches:
      - {name: control, weight: 1, next: plain}
      - {name: discount, weight: 1, next: offer}
  - {id: plain, type: send, channel: webhook, template: welcome, next: done}
  - {id: offer, type: send, channel: webhook, template: welcome, next: done}
  - {id: done, type: exit}
"""


@pytest.fixture
def shop(live: LiveServer) -> tuple[LiveServer, dt.datetime]:
    applied = httpx.post(
        f"{live.url}/v1/journeys", content=JOURNEY,
        headers={**ADMIN, "Content-Type": "application/yaml"},
    )  # fmt: skip
    assert applied.status_code == 201, applied.text
    run, now = uuid.uuid4().hex[:6], dt.datetime.now(dt.UTC).replace(microsecond=0)
    signups = [track(run, u, "Signed Up", now) for u in range(CUSTOMERS)]
    orders = [
        track(run, u, "Order Completed", now + dt.timedelta(minutes=5), order_id=f"{run}-{u}",
              products=[{"product_id": "kettle", "price": 20.0, "quantity": 1 + u % 3}])
        for u in range(0, CUSTOMERS, 4)
    ]  # fmt: skip
    again = {**orders[0], "messageId": str(uuid.uuid4())}  # the same order id sent again
    for batch in (signups, [*orders, again]):
        r = httpx.post(f"{live.url}/v1/batch", json={"batch": batch}, headers=BASIC)
        assert r.status_code == 200, r.text
    caught_up(live.juncture)  # the orders, enrolments and sends the reports count are in
    return live, now


def kpis(live: LiveServer, report: str, **params: Any) -> httpx.Response:
    return httpx.get(f"{live.url}/v1/measure/kpis/{report}", params=params, headers=ADMIN)


def test_orders_and_journey_figures_agree_with_what_was_sent(
    shop: tuple[LiveServer, dt.datetime],
) -> None:
    live, now = shop
    assert httpx.get(f"{live.url}/v1/measure/kpis/commerce").status_code == 401
    found = kpis(live, "commerce", period="day")
    assert found.status_code == 200, found.text
    (day,) = found.json()["rows"]
    buyers = range(0, CUSTOMERS, 4)
    units = sum(1 + u % 3 for u in buyers)
    assert day["period"] == now.date().isoformat()
    assert (day["orders"], day["customers"], day["units"]) == (len(buyers), len(buyers), units)
    assert day["revenue"] == pytest.approx(20.0 * units)
    assert day["aov"] == pytest.approx(20.0 * units / len(buyers), abs=0.01)

    (python,) = httpx.get(f"{live.url}/v1/measure/journeys", headers=ADMIN).json()["journeys"]
    arms = {r["arm"]: r for r in kpis(live, "journeys").json()["rows"]}
    for arm in ("treatment", "holdout"):
        for name in ("profiles", "goal_reached", "converted", "orders"):
            assert arms[arm][name] == python[arm][name], (arm, name)
        assert arms[arm]["revenue"] == pytest.approx(python[arm]["revenue"])
    assert arms["treatment"]["incremental_conversions"] == pytest.approx(
        python["incremental"]["conversions"], abs=0.01
    )


def test_messages_as_json_and_csv(shop: tuple[LiveServer, dt.datetime]) -> None:
    live, _ = shop
    rows = kpis(live, "messages").json()["rows"]
    held = sum(r["suppressed"] for r in rows)
    reasons = [r["suppressed_by_reason"] for r in rows if r["channel"] == "none"]
    assert held > 0 and sum(r["holdout"] for r in reasons) == held
    sent = sum(r["pending"] for r in rows if r["channel"] == "webhook")
    assert sent + held == CUSTOMERS  # no dispatcher runs here: the messages wait
    table = list(csv.DictReader(io.StringIO(kpis(live, "messages", format="csv").text)))
    assert sum(int(r["suppressed_by_reason.holdout"] or 0) for r in table) == held


def test_bad_input_is_refused_with_where(live: LiveServer) -> None:
    naive = kpis(live, "commerce", since="2026-01-01T00:00:00")
    assert naive.status_code == 400 and naive.json()["where"] == "query.since"
    backwards = kpis(live, "carts", since="2026-02-01T00:00:00Z", until="2026-01-01T00:00:00Z")
    assert backwards.status_code == 400 and backwards.json()["where"] == "query.until"
    unknown = kpis(live, "nonsense")
    assert unknown.status_code == 400 and unknown.json()["where"] == "path.report"
    year = kpis(live, "commerce", period="year")
    assert year.status_code == 400 and year.json()["where"] == "query.period"


def test_the_cli_answers_the_same_rows(shop: tuple[LiveServer, dt.datetime]) -> None:
    live, _ = shop
    url = live.juncture.settings.database_url
    for report in ("commerce", "stages", "journeys"):
        found = CliRunner().invoke(
            app, ["measure", "kpis", report, "--format", "json", "--database-url", url]
        )
        assert found.exit_code == 0, found.output
        assert json.loads(found.stdout) == kpis(live, report).json()["rows"]
    table = CliRunner().invoke(app, ["measure", "kpis", "carts", "--database-url", url])
    assert table.exit_code == 0 and "cart_abandonment_rate" in table.stdout
