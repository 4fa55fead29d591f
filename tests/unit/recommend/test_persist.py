"""Trained models as bytes and back: the same answers after a round trip; bytes of another
format, or that cannot be read, are refused (the caller trains instead)."""

from __future__ import annotations

import datetime as dt

from juncture.recommend import persist
from juncture.recommend.interactions import Interaction, Item
from juncture.recommend.models import train

DAY = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def test_a_round_trip_keeps_every_kind() -> None:
    log = [Interaction(u, i, "order", DAY, f"o{u}") for u in "abc" for i in ("tent", "pegs")]
    log += [Interaction("d", "lamp", "view", DAY)]
    items = {k: Item(k, title=k, category="Outdoor") for k in ("tent", "pegs", "lamp")}
    models = train(log, items)
    back = persist.loads(persist.dumps(models))
    assert back is not None and back.summary() == models.summary()
    assert back.together.with_item("tent") == models.together.with_item("tent")
    assert back.popularity.best(DAY, 3) == models.popularity.best(DAY, 3)
    assert back.similar.ids == models.similar.ids


def test_other_bytes_are_refused() -> None:
    assert persist.loads(b"juncture-recs-1\n...") is None
    assert persist.loads(persist.FORMAT + b"not a pickle") is None
