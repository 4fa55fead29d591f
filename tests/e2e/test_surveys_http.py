"""NPS and CSAT over real HTTP and the CLI on every store, from answers sent with Segment's
Python client (``Survey Answered``, ``NPS Submitted``, ``CSAT Submitted``): the scores, their
intervals and response rates equal the statistics computed from the answers sent."""

from __future__ import annotations

import datetime as dt
import json
import uuid

import httpx
import pytest
from segment.analytics.client import Client
from typer.testing import CliRunner

from juncture.analytics import surveys
from juncture.cli.main import app
from tests.conftest import ADMIN, WRITE_KEY, LiveServer, caught_up

SCORES = [10, 9, 9, 8, 7, 6, 3, 0]
BUYERS = 10


@pytest.fixture
def answered(live: LiveServer) -> LiveServer:
    errors: list[Exception] = []
    client = Client(WRITE_KEY, host=live.url, sync_mode=True,
                    on_error=lambda e, _batch: errors.append(e))  # fmt: skip
    run, start = uuid.uuid4().hex[:6], dt.datetime.now(dt.UTC) - dt.timedelta(hours=5)
    for u in range(BUYERS):
        order = {"order_id": f"{run}-{u}", "revenue": 20.0}
        client.track(f"{run}-u{u}", "Order Completed", order, timestamp=start)
    for u, score in enumerate(SCORES):
        props = {"score": score, **({"store_id": "s1"} if u < 4 else {})}
        name = "NPS Submitted" if u % 2 else "Survey Answered"
        if name == "Survey Answered":
            props["survey"] = "nps"
        client.track(f"{run}-u{u}", name, props, timestamp=start + dt.timedelta(hours=1))
    for u in range(3):
        client.track(f"{run}-u{u}", "Support Ticket Opened", {"ticket_id": f"{run}-t{u}"},
                     timestamp=start + dt.timedelta(hours=1))  # fmt: skip
    client.track(f"{run}-u0", "CSAT Submitted", {"score": "4"},
                 timestamp=start + dt.timedelta(hours=2))  # fmt: skip
    client.flush()
    assert errors == []
    caught_up(live.juncture)  # the KPIs read what the engine behind the log applied
    return live


def report(live: LiveServer, name: str, **params: str) -> list[dict[str, object]]:
    found = httpx.get(f"{live.url}/v1/measure/kpis/{name}", params=params, headers=ADMIN)
    assert found.status_code == 200, found.text
    rows: list[dict[str, object]] = found.json()["rows"]
    return rows


def test_nps_and_csat_as_sent(answered: LiveServer) -> None:
    rows = {r["survey"]: r for r in report(answered, "surveys")}
    reference = surveys.nps(SCORES)
    nps = rows["nps"]
    assert (nps["promoters"], nps["passives"], nps["detractors"]) == (3, 2, 3)
    assert nps["score"] == pytest.approx(reference.score.value)
    assert (nps["low"], nps["high"]) == pytest.approx((reference.score.low, reference.score.high))
    assert (nps["asked"], nps["respondents"], nps["response_rate"]) == (BUYERS, 8, 0.8)
    csat = rows["csat"]
    assert (csat["answers"], csat["score"], csat["asked"]) == (1, 1.0, 3)
    stores = report(answered, "surveys", by="store")
    assert {r["group"]: r["answers"] for r in stores if r["survey"] == "nps"} == {
        "s1": 4, "(none)": 4,
    }  # fmt: skip
    follow = report(answered, "follow-up")
    assert {r["arm"]: r["detractors"] for r in follow} == {
        "treatment": 0, "holdout": 0, "not_enrolled": 3,
    }  # fmt: skip
    bad = httpx.get(f"{answered.url}/v1/measure/kpis/surveys", params={"by": "x"}, headers=ADMIN)
    assert bad.status_code in {400, 422}


def test_the_cli_answers_the_same(answered: LiveServer) -> None:
    found = CliRunner().invoke(app, [
        "measure", "kpis", "surveys", "--by", "store", "--format", "json",
        "--database-url", answered.juncture.settings.database_url,
    ])  # fmt: skip
    assert found.exit_code == 0, found.output
    assert json.loads(found.stdout) == report(answered, "surveys", by="store")
