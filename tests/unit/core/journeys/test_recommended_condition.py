"""A condition's branch that needs something good to recommend: the machine asks the runtime
for the count (it reads no recommender itself) and takes the branch by the count given."""

from __future__ import annotations

from typing import Any

import pytest

from juncture.core.journeys import machine
from juncture.definitions import journeys as journey_definitions
from tests.unit.core.journeys.factory import T0, event, journey, profile

JOURNEY = """
id: goes_with
version: 1
name: Goes with
nodes:
  - {id: t, type: trigger, event: Checkout Started, next: c}
  - id: c
    type: condition
    branches:
      - {when: "profile.traits.vip == true", recommended: {kind: similar}, next: vip}
      - {recommended: {kind: bought_together, at_least: 3}, next: recs}
    else: plain
  - {id: vip, type: send, channel: email, template: vip, next: done}
  - {id: recs, type: send, channel: email, template: recs, next: done}
  - {id: plain, type: send, channel: email, template: plain, next: done}
  - {id: done, type: exit}
"""


def _branch(counts: dict[str, int] | None, **traits: Any) -> str:
    who = {**profile(**traits), "recommendations": counts}
    step = machine.on_event([journey(JOURNEY)], [], who, event("Checkout Started"), T0)
    return step.enrollments[0].branch("c") or ""


def test_without_the_count_the_machine_asks_for_it() -> None:
    with pytest.raises(machine.RecommendationsNeeded) as asked:
        _branch(None)
    assert (asked.value.profile_id, asked.value.kind) == ("p1", "bought_together")


def test_a_branch_whose_when_fails_asks_nothing() -> None:
    assert _branch({"bought_together": 0}, vip=False) == "otherwise"


@pytest.mark.parametrize(
    ("found", "taken"), [(3, "1"), (4, "1"), (2, "otherwise"), (0, "otherwise")]
)
def test_the_branch_is_taken_by_the_count(found: int, taken: str) -> None:
    assert _branch({"bought_together": found}) == taken


def test_when_and_recommended_both_hold() -> None:
    assert _branch({"similar": 1, "bought_together": 0}, vip=True) == "0"
    with pytest.raises(machine.RecommendationsNeeded) as asked:
        _branch({"bought_together": 5}, vip=True)
    assert asked.value.kind == "similar"


@pytest.mark.parametrize(
    ("branch", "says"),
    [
        ("{next: plain}", "a branch needs when, recommended or both"),
        ("{recommended: {kind: bestsellers}, next: plain}", "'bestsellers' is not one of"),
        ("{recommended: {kind: similar, at_least: 11}, next: plain}", "at_least: a whole number"),
        ("{recommended: {kind: similar, most: 2}, next: plain}", "unknown key 'most'"),
    ],
)
def test_a_bad_branch_is_refused_with_its_place(branch: str, says: str) -> None:
    given = "{recommended: {kind: bought_together, at_least: 3}, next: recs}"
    text = JOURNEY.replace(given, branch)
    with pytest.raises(journey_definitions.InvalidJourney) as refused:
        journey_definitions.loads(text, "goes_with.yaml")
    problems = refused.value.problems
    assert any(says in p.message for p in problems), problems
    assert any(p.where == "goes_with.yaml:11" for p in problems), problems
