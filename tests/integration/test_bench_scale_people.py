"""The check ``juncture bench scale`` makes of its people, on a real store with the engine
in the events' transaction: right when each person is one profile counting exactly their
events, and failing when a count is off or one profile holds two people."""

from __future__ import annotations

from collections.abc import Iterator

import msgspec
import orjson
import pytest

from juncture import wiring
from juncture.bench import scale_people
from juncture.core import messages
from tests.conftest import settings_for


@pytest.fixture
def juncture(database_url: str) -> Iterator[wiring.Juncture]:
    built = wiring.build(settings_for(database_url, engine_mode="inline"))
    yield built
    built.close()


def test_the_people_check_passes_on_right_profiles_and_fails_on_wrong_ones(
    juncture: wiring.Juncture,
) -> None:
    found = scale_people.workload(300, 0.1, 4)
    sent = found.messages()
    for start in range(0, len(sent), 100):
        raw = [msgspec.Raw(orjson.dumps(m)) for m in sent[start : start + 100]]
        envelope = messages.Envelope(messages=raw, single=False)
        assert juncture.ingestor.ingest_sync(envelope, "web").receipt.stored == len(raw)
    people = scale_people.people(sent)
    merged = max(people, key=lambda person: len(person[0]))
    assert len(merged[0]) >= 3  # a customer with a device that merged in
    assert scale_people.wrong_people(juncture.store, people) == []
    off = [(ids, count + (ids == merged[0])) for ids, count in people]
    assert [w.split(":")[0:2] for w in scale_people.wrong_people(juncture.store, off)] == [
        merged[0][0].split(":")[0:2]
    ]
    split = [p for p in people if p is not merged]
    split += [(merged[0][:1], merged[1]), (merged[0][1:], 0)]  # one person said to be two
    assert len(scale_people.wrong_people(juncture.store, split)) == 1
