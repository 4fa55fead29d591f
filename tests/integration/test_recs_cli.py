"""``juncture recs train`` on a store (its models saved there, and taken by a server that
starts instead of training again) and ``juncture recs evaluate`` on the simulator's and
MovieLens's logs; MovieLens is converted as documented."""

from __future__ import annotations

import datetime as dt
import re
import threading
import time

import pytest
from segment.analytics.client import Client
from typer.testing import CliRunner

from juncture import wiring
from juncture.cli.main import app
from juncture.recommend import base, evaluate, movielens
from juncture.runtime.clock import ManualClock
from juncture.runtime.recommend import Recommendations
from juncture.store.recommend_models import ModelStore, Saved
from juncture.store.sql import SqlStore
from juncture.wiring import config
from tests.conftest import WRITE_KEY, LiveServer, settings_for


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


def test_a_server_takes_the_trained_models_instead_of_training(
    live: LiveServer, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = Client(WRITE_KEY, host=live.url, sync_mode=True)
    for user in ("a", "b"):
        products = [{"product_id": "tent"}, {"product_id": "pegs"}]
        client.track(user, "Order Completed", {"order_id": f"o{user}", "products": products})
    lamp = [{"product_id": "lamp"}]
    client.track("d", "Order Completed", {"order_id": "od", "products": lamp})
    client.flush()
    result = CliRunner().invoke(app, ["recs", "train", "--database-url", database_url])
    assert result.exit_code == 0, result.output
    client.track("c", "Order Completed", {"order_id": "oc", "products": products})
    client.flush()  # after the training: the restored models read it from where they stopped

    def no_training(self: Recommendations) -> None:
        raise AssertionError("trained again instead of loading the saved models")

    real_train = Recommendations._train
    monkeypatch.setattr(Recommendations, "_train", no_training)
    later = ManualClock(dt.datetime.now(dt.UTC) + dt.timedelta(hours=2))
    juncture = wiring.build(settings_for(database_url), clock=later)
    try:
        recs = juncture.recommendations()
        models = recs.current()
        assert models.summary()["baskets"] == 4
        assert [p for p, _, _ in models.together.with_item("tent")] == ["pegs"]
        assert recs.keep_current(every=86400.0) is False  # due a day after the training
        monkeypatch.setattr(Recommendations, "_train", real_train)
        assert recs.keep_current(every=3600.0) is True  # two hours old: trained again
        assert recs.trained_at == later.now()
        assert models.summary()["baskets"] == 4
    finally:
        juncture.close()


def test_two_nodes_saving_their_models_at_once_both_succeed(database_url: str) -> None:
    """Serve nodes that start together train together: each save lands (the later one
    stays), none fails on the other's row."""
    store = SqlStore(database_url)
    saved = ModelStore(store.engine)
    at = dt.datetime(2026, 12, 7, tzinfo=dt.UTC)
    failed: list[BaseException] = []
    for round_ in range(15):
        gate = threading.Barrier(2)

        def save(node: int, name: str = f"m{round_}", gate: threading.Barrier = gate) -> None:
            gate.wait()
            try:
                saved.save(name, Saved(b"node%d" % node, at, node))
            except BaseException as exc:  # noqa: BLE001 - collected for the assert
                failed.append(exc)

        nodes = [threading.Thread(target=save, args=(n,)) for n in (1, 2)]
        for t in nodes:
            t.start()
        for t in nodes:
            t.join()
        found = saved.load(f"m{round_}")
        assert found is not None and found.body in (b"node1", b"node2")
    store.close()
    assert failed == []


def test_a_first_ask_during_the_trainer_s_training_waits_for_it(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    trainings: list[str] = []
    real = Recommendations._train

    def slow(self: Recommendations) -> object:
        trainings.append(threading.current_thread().name)
        time.sleep(0.3)  # the first ask comes while this runs
        return real(self)

    monkeypatch.setattr(Recommendations, "_train", slow)
    juncture = wiring.build(settings_for(database_url))
    try:
        recs = juncture.recommendations()
        trainer = threading.Thread(target=recs.train, name="trainer")
        trainer.start()
        while not trainings:
            time.sleep(0.01)
        assert recs.current() is recs.models
        trainer.join()
        assert trainings == ["trainer"]
    finally:
        juncture.close()


def test_one_process_of_a_database_holds_the_training_lease(database_url: str) -> None:
    """Two servers' stores: while one trains (holds the lease) the other's try fails, and
    succeeds once it is let go. On SQLite one process serves the file: always held."""
    one, other = SqlStore(database_url), SqlStore(database_url)
    try:
        with one.recommend_models.lease("all", wait=False) as held:
            assert held
            with other.recommend_models.lease("all", wait=False) as also:
                assert also is database_url.startswith("sqlite")
        with other.recommend_models.lease("all", wait=False) as held:
            assert held
    finally:
        one.close()
        other.close()


def test_a_process_without_a_trainer_takes_a_newer_training(database_url: str) -> None:
    """A worker's recommendations (it runs no trainer) take the models another process of
    the database trained after them, at its next look."""
    settings = settings_for(database_url, recs_look_every=0.01)
    stores = [SqlStore(database_url), SqlStore(database_url)]
    clock = ManualClock(dt.datetime(2026, 12, 7, 9, tzinfo=dt.UTC))
    trains, serves = (config.recommendations(settings, s, clock, s.catalog) for s in stores)
    try:
        trains.train()
        serves.current()
        assert serves.trained_at == trains.trained_at == clock.now()
        clock.advance(dt.timedelta(hours=1))
        trains.train()
        time.sleep(0.05)  # past the look interval
        serves.current()
        assert serves.trained_at == clock.now()
    finally:
        for store in stores:
            store.close()
