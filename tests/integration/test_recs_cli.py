"""``juncture recs train`` on a store and ``juncture recs evaluate`` on the simulator's and
MovieLens's logs; MovieLens is converted as documented."""

from __future__ import annotations

import datetime as dt
import re

from segment.analytics.client import Client
from typer.testing import CliRunner

from juncture.cli.main import app
from juncture.recommend import base, evaluate, movielens
from tests.conftest import WRITE_KEY, LiveServer


def test_train_reads_the_stored_events(live: LiveServer, database_url: str) -> None:
    client = Client(WRITE_KEY, host=live.url, sync_mode=True)
    for user in ("a", "b"):
        products = [{"product_id": "tent"}, {"product_id": "pegs"}]
        client.track(user, "Order Completed", {"order_id": f"o{user}", "products": products})
    client.flush()
    result = CliRunner().invoke(app, ["recs", "train", "--database-url", database_url])
    assert result.exit_code == 0, result.output
    assert "4 interactions" in result.output
    assert "2 baskets" in result.output
    report = CliRunner().invoke(app, ["recs", "report", "--database-url", database_url])
    assert report.exit_code == 0, report.output
    assert "| bought_together | 0 | 0 | 0.000 | 0 | 0.000 | 0.00 |" in report.output


def test_evaluate_on_the_simulator() -> None:
    result = CliRunner().invoke(
        app, ["recs", "evaluate", "--data", "simulated", "--customers", "80", "--days", "6"]
    )
    assert result.exit_code == 0, result.output
    rows = re.findall(r"^\| (\w+) \| (\d+) \|", result.output, re.MULTILINE)
    assert [kind for kind, _ in rows] == [*base.KINDS, evaluate.BASELINE]
    assert all(int(n) > 0 for _, n in rows)


def test_movielens_conversion() -> None:
    rows = [(1, 31, 2.5, 1260759144, "Dangerous Minds", 1995.0, "Drama"),
            (1, 10, 4.0, 1260759000, "GoldenEye", float("nan"), "Action|Thriller")]  # fmt: skip
    log, items = movielens.convert(rows)
    assert [(i.user, i.item, i.action) for i in log] == [
        ("u1", "m10", "order"),
        ("u1", "m31", "view"),
    ]
    assert log[0].at == dt.datetime(2009, 12, 14, 2, 50, tzinfo=dt.UTC)
    assert (items["m31"].title, items["m10"].title) == ("Dangerous Minds (1995)", "GoldenEye")
    assert items["m10"].category == "Films > Action"


def test_people_like_you_beats_popularity_on_movielens() -> None:
    log, items = movielens.load()
    assert (len(log), len(items)) == (100_004, 9_066)
    scores = {s.kind: s for s in evaluate.evaluate(log, items, kinds=(base.PEOPLE_LIKE_YOU,))}
    assert scores[base.PEOPLE_LIKE_YOU].ndcg > scores[evaluate.BASELINE].ndcg
