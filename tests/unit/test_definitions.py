from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from juncture.core.journeys import spec as s
from juncture.definitions import journey_nodes, reader
from juncture.definitions import journeys as journey_definitions
from juncture.definitions import segments as segment_definitions
from juncture.errors import InvalidDefinition

LIBRARY = sorted(journey_definitions.LIBRARY.glob("*.yaml"))


def test_the_library_has_the_promised_journeys() -> None:
    ids = {journey_definitions.load(p).id for p in LIBRARY}
    assert ids == {
        "welcome_series",
        "browse_abandonment",
        "cart_abandonment",
        "post_purchase",
        "win_back",
        "replenishment",
        "nps_follow_up",
        "price_drop_wishlist",
        "back_in_stock_wishlist",
        "appointment_confirmation",
        "appointment_reminder",
    }


@pytest.mark.parametrize("path", LIBRARY, ids=lambda p: p.name)
def test_every_library_journey_validates(path: Path) -> None:
    journey = journey_definitions.load(path)
    assert journey.triggers
    assert s.unreachable(journey.nodes) == []


BAD = """\
id: bad
version: one
name: Bad
entry:
  reentry: sometimes
nodes:
  - id: a
    type: wait
    duration: 3 days
    next: b
  - id: b
    type: condition
    branches:
      - when: profile.traits.city == "Lyon" and (
        next: c
    else: zz
  - id: c
    type: teleport
"""


def test_bad_file_lists_every_problem_with_its_line() -> None:
    with pytest.raises(journey_definitions.InvalidJourney) as info:
        journey_definitions.loads(BAD, "bad.yaml")
    error = info.value
    assert isinstance(error, InvalidDefinition)
    assert error.where == "bad.yaml:2"
    found = {(p.where, p.path) for p in error.problems}
    assert found == {
        ("bad.yaml:2", "version"),
        ("bad.yaml:5", "entry.reentry"),
        ("bad.yaml:9", "nodes[0].duration"),
        ("bad.yaml:14", "nodes[1].branches[0].when"),
        ("bad.yaml:16", "nodes[1].else"),
        ("bad.yaml:18", "nodes[2].type"),
        ("bad.yaml:6", "nodes"),
    }
    text = str(error)
    assert "unknown node type 'teleport'" in text
    assert "dangling next: there is no node 'zz'" in text
    assert "(column 36)" in text
    assert "missing trigger" in text
    assert "bad duration '3 days'" in text


GRAPH = """\
id: g
version: 1
name: G
nodes:
  - {id: t, type: trigger, event: X, next: a}
  - {id: a, type: set_trait, trait: x, value: 1, next: b}
  - {id: b, type: emit_event, event: Y, next: a}
  - {id: lonely, type: exit}
"""


def test_cycles_without_a_wait_and_unreachable_nodes() -> None:
    with pytest.raises(journey_definitions.InvalidJourney) as info:
        journey_definitions.loads(GRAPH, "g.yaml")
    messages = {(p.where, p.message) for p in info.value.problems}
    assert ("g.yaml:8", "node 'lonely' is unreachable from every trigger") in messages
    assert ("g.yaml:6", "cycle without a wait would loop forever: a -> b -> a") in messages


def test_a_cycle_through_a_wait_is_fine() -> None:
    text = GRAPH.replace("next: a}\n  - {id: lonely, type: exit}", "next: w}\n")
    text += "  - {id: w, type: wait, duration: 1d, next: a}\n"
    assert len(journey_definitions.loads(text, "g.yaml").nodes) == 4


def test_json_problems_name_the_line_and_path() -> None:
    doc = {
        "id": "j",
        "version": 1,
        "name": "J",
        "nodes": [
            {"id": "t", "type": "trigger", "event": "X", "next": "s"},
            {"id": "s", "type": "send", "channel": "email", "template": "x", "nxt": "e"},
            {"id": "e", "type": "exit"},
        ],
    }
    with pytest.raises(journey_definitions.InvalidJourney) as info:
        journey_definitions.loads(json.dumps(doc, indent=2), "j.json")
    paths = {(p.path, p.message) for p in info.value.problems}
    assert ("nodes[1].nxt", "unknown field 'nxt'") in paths
    assert ("nodes[1]", "missing 'next'") in paths
    assert all(p.where.startswith("j.json:") for p in info.value.problems)


def test_json_definition_loads() -> None:
    doc = {
        "id": "j",
        "version": 2,
        "name": "J",
        "priority": 5,
        "holdout": 10,
        "nodes": [
            {"id": "t", "type": "trigger", "event": "X", "properties": {"a": 1}, "next": "e"},
            {"id": "e", "type": "exit"},
        ],
    }
    journey = journey_definitions.loads(json.dumps(doc), "j.json")
    assert (journey.version, journey.priority, journey.holdout_percent) == (2, 5, 10.0)
    assert journey.triggers[0].match == s.EventMatch("X", (("a", 1),))


def test_syntax_errors_name_the_line() -> None:
    with pytest.raises(journey_definitions.InvalidJourney) as info:
        journey_definitions.loads("id: x\nnodes: [a, b\nname: y\n", "s.yaml")
    assert str(info.value.where).startswith("s.yaml:")
    assert "not valid YAML" in str(info.value)
    with pytest.raises(journey_definitions.InvalidJourney) as info:
        journey_definitions.loads('{"id": "x",\n "version": }', "s.json")
    assert info.value.where == "s.json:2"


def test_duplicate_keys_and_node_ids_are_reported() -> None:
    text = GRAPH.replace("  - {id: lonely, type: exit}\n", "  - {id: a, type: exit}\nname: H\n")
    with pytest.raises(journey_definitions.InvalidJourney) as info:
        journey_definitions.loads(text, "d.yaml")
    messages = {(p.where, p.message) for p in info.value.problems}
    assert ("d.yaml:9", "duplicate key") in messages
    assert ("d.yaml:8", "duplicate node id 'a'") in messages


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3d", dt.timedelta(days=3)),
        ("90m", dt.timedelta(minutes=90)),
        ("1h30m", dt.timedelta(minutes=90)),
        ("2w", dt.timedelta(weeks=2)),
        ("PT2H", dt.timedelta(hours=2)),
        ("P1DT12H", dt.timedelta(hours=36)),
        ("45s", dt.timedelta(seconds=45)),
    ],
)
def test_durations(text: str, expected: dt.timedelta) -> None:
    assert reader.parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "3 days", "0m", "P", "PT", "1x", 5])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError, match="duration"):
        reader.parse_duration(text)


def test_load_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text(GRAPH)
    with pytest.raises(journey_definitions.InvalidJourney) as info:
        journey_definitions.load(path)
    assert str(info.value.where).startswith(f"{path}:")


def test_the_schema_describes_the_node_types_and_fields() -> None:
    schema = journey_definitions.schema()
    assert set(schema["properties"]) == set(journey_definitions._TOP)
    node_types = {n["properties"]["type"]["const"] for n in schema["$defs"]["node"]["oneOf"]}
    assert node_types == set(journey_nodes.BUILDERS)


def test_every_node_field_the_reader_accepts_is_in_the_schema_and_no_other() -> None:
    nodes = journey_definitions.schema()["$defs"]["node"]["oneOf"]
    fields = {
        n["properties"]["type"]["const"]: set(n["properties"]) - {"id", "type"} for n in nodes
    }
    assert fields == {kind: set(allowed) for kind, (allowed, _) in journey_nodes.BUILDERS.items()}


YEARLY = """\
id: birthday
version: 1
name: Birthday
nodes:
  - {id: t, type: trigger, date: birthday, every: year, next: done}
  - {id: done, type: exit}
"""


def test_a_yearly_date_trigger_waits_for_the_anniversary_event() -> None:
    [trigger] = journey_definitions.loads(YEARLY, "birthday.yaml").triggers
    assert (trigger.kind, trigger.every) == ("date", "year")
    assert trigger.match == s.EventMatch(s.ANNIVERSARY_REACHED, (("trait", "birthday"),))
    once = journey_definitions.loads(YEARLY.replace(", every: year", ""), "once.yaml").triggers[0]
    assert (once.every, once.match.event) == (None, s.DATE_REACHED)


@pytest.mark.parametrize(
    ("trigger", "says"),
    [
        ("date: birthday, every: month", "nodes[0].every: every 'month' is not one of year"),
        ("event: Signed Up, every: year", "nodes[0].every: every repeats a date trigger"),
    ],
)
def test_a_bad_every_says_what_is_wrong(trigger: str, says: str) -> None:
    text = YEARLY.replace("date: birthday, every: year", trigger)
    with pytest.raises(journey_definitions.InvalidJourney) as info:
        journey_definitions.loads(text, "birthday.yaml")
    assert f"birthday.yaml:5: {says}" in str(info.value)


ONSITE = """\
id: onsite
version: 1
name: On-site
nodes:
  - {id: t, type: trigger, event: Product Viewed, next: show}
  - {id: show, type: send, channel: onsite, template: picks, KIND, next: done}
  - {id: done, type: exit}
"""


def test_an_onsite_send_carries_its_kind_and_placement() -> None:
    text = ONSITE.replace("KIND", "kind: product_recommendation, placement: product")
    node = journey_definitions.loads(text, "onsite.yaml").nodes["show"]
    assert isinstance(node, s.SendMessage)
    assert (node.kind, node.placement) == ("product_recommendation", "product")


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        ("kind: popup", "nodes[1].kind: kind 'popup' is not one of welcome, cart_recovery,"),
        ("placement: home", "nodes[1]: an on-site send needs 'kind', one of welcome, "),
        ("kind: survey, placement: a b", "nodes[1].placement: placement 'a b': letters"),
    ],
)
def test_a_bad_onsite_send_says_what_is_wrong(fields: str, says: str) -> None:
    with pytest.raises(journey_definitions.InvalidJourney) as info:
        journey_definitions.loads(ONSITE.replace("KIND", fields), "onsite.yaml")
    assert f"onsite.yaml:6: {says}" in str(info.value)


def test_kind_and_placement_belong_to_onsite_sends_only() -> None:
    text = ONSITE.replace("channel: onsite", "channel: email").replace("KIND", "kind: survey")
    with pytest.raises(journey_definitions.InvalidJourney) as info:
        journey_definitions.loads(text, "onsite.yaml")
    assert "nodes[1].kind: kind is for on-site placements (channel: onsite)" in str(info.value)


@pytest.mark.parametrize(
    ("text", "filename", "says"),
    [
        ("[" * 100_000, "deep.json", "deep.json: nested too deeply"),
        ("[" * 100_000, "deep.yaml", "deep.yaml: nested too deeply"),
        ("id: a\nname: b\x01\n", "ctl.yaml", "ctl.yaml:2: not valid YAML: the character U+0001"),
    ],
)
def test_unreadable_sources_are_problems_not_crashes(text: str, filename: str, says: str) -> None:
    for load in (journey_definitions.loads, segment_definitions.loads):
        with pytest.raises(InvalidDefinition) as caught:
            load(text, filename)
        assert says in str(caught.value)


SETTLED = """\
id: settled
version: 1
name: Settled
goal: {event: Order Completed, settles: true, within: 7d}
nodes:
  - {id: t, type: trigger, event: Product Added, next: w}
  - {id: w, type: wait, until_event: Order Completed, settles: true, key: KEY, timeout: 1h,
     reset: Product Added, on_event: done, on_timeout: done}
  - {id: done, type: exit}
"""


def test_settles_is_read_on_goals_and_waits() -> None:
    journey = journey_definitions.loads(SETTLED.replace("KEY", "event.properties.cart_id"))
    wait = journey.nodes["w"]
    assert journey.goal is not None and journey.goal.settles
    assert isinstance(wait, s.WaitUntilEvent) and wait.settles
    assert wait.key == ("event", "properties", "cart_id")  # kept for reset
    plain = journey_definitions.loads(
        SETTLED.replace("settles: true, ", "").replace("KEY", "event.x")
    )
    assert plain.goal is not None and not plain.goal.settles


@pytest.mark.parametrize(
    ("change", "line", "says"),
    [
        (("goal: {event: Order Completed", "goal: {event: Signed Up"), 4,
         "goal.settles: settles is for the event 'Order Completed'"),
        (("until_event: Order Completed", "until_event: Cart Viewed"), 7,
         "nodes[1].settles: settles is for the event 'Order Completed'"),
        (("settles: true, within", "settles: true, key: event.properties.cart_id, within"), 4,
         "goal.key: give key or settles, not both"),
        (("settles: true, within", "settles: yes please, within"), 4, "goal.settles"),
    ],
)  # fmt: skip
def test_a_bad_settles_says_what_is_wrong(change: tuple[str, str], line: int, says: str) -> None:
    text = SETTLED.replace("KEY", "event.properties.cart_id").replace(*change)
    with pytest.raises(journey_definitions.InvalidJourney) as info:
        journey_definitions.loads(text, "settled.yaml")
    assert f"settled.yaml:{line}: {says}" in str(info.value)


BRANCHES = """\
id: branches
version: 1
name: Branches
nodes:
  - {id: t, type: trigger, event: X, next: c}
  - id: c
    type: condition
    branches: [plain, {next: s}]
    else: s
  - id: s
    type: split
    branches:
      - {name: a, weight: 0, next: e}
      - {name: b, weight: 1, next: e}
      - {name: b, weight: 2, next: e}
      - 3
  - {id: one, type: split, branches: [{name: a, weight: 1, next: e}]}
  - {id: e, type: exit}
"""


def test_the_branches_of_conditions_and_splits_say_what_is_wrong_with_each() -> None:
    with pytest.raises(journey_definitions.InvalidJourney) as info:
        journey_definitions.loads(BRANCHES, "branches.yaml")
    found = {(p.path, p.message) for p in info.value.problems if p.path.startswith("nodes[")}
    assert found == {
        ("nodes[1].branches[0]", "a branch is a mapping with when (or recommended) and next"),
        ("nodes[1].branches[1]", "a branch needs when, recommended or both"),
        ("nodes[2].branches[0].weight", "a weight is a number above zero"),
        ("nodes[2].branches[3]", "a branch is a mapping with name, weight and next"),
        ("nodes[2].branches", "split branch names must differ"),
        ("nodes[3].branches", "a split needs at least two branches"),
    }
