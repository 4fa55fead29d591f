from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from juncture.core.segments import conditions as seg
from juncture.definitions import segments as sd

DAY = dt.timedelta(days=1)


def test_the_library_holds_every_kind_of_segment() -> None:
    ids = {sd.load(p).id for p in sd.library()}
    assert ids == {
        "students-reachable-by-email",
        "dach-active",
        "running-shoes-browsers",
        "price-sensitive",
        "lapsed-vips",
        "high-intent-berlin",
        "lapsed_90d",
        "vip-at-risk",
    }


def test_a_behavioural_definition_becomes_the_condition_tree() -> None:
    text = """\
id: running
name: Running
where:
  all:
    - performed: Product Viewed
      where: {category: Shoes, price: {lt: 100}}
      at_least: 3
      within: 7d
    - not_performed: Order Completed
      since: last_order_at
      within: 30d
    - not: {stage: [lapsed, awareness]}
    - consent: sms:marketing
      is: unknown
    - trait: plan.tier
      in: [gold, 3]
    - rfm: recency
      gte: 4
    - fact: last_seen
      within: 2d
"""
    segment = sd.loads(text, "running.yaml")
    assert segment.condition == seg.All(
        (
            seg.Performed(
                "Product Viewed",
                7 * DAY,
                (
                    seg.PropertyIs(("category",), "eq", "Shoes"),
                    seg.PropertyIs(("price",), "lt", 100),
                ),
                at_least=3,
            ),
            seg.NotPerformedSince("Order Completed", 30 * DAY, "last_order_at"),
            seg.Not(seg.FactIs("stage", "in", ("lapsed", "awareness"))),
            seg.ConsentIs("sms", "marketing", None),
            seg.TraitIs(("plan", "tier"), "in", ("gold", 3)),
            seg.RfmIs("recency", "gte", 4),
            seg.FactIs("last_seen", "within", 2 * DAY),
        )
    )
    assert segment.lookback == 30 * DAY


def test_json_definitions_are_read_too() -> None:
    text = '{"id": "b", "name": "Berlin", "where": {"fact": "city", "eq": "Berlin"}}'
    assert sd.loads(text, "b.json").condition == seg.FactIs("city", "eq", "Berlin")


BAD = """\
id: bad id
name: Bad
where:
  all:
    - fact: shoe_size
      eq: 42
    - fact: revenue
      eq: lots
    - performed: Product Viewed
      within: soon
      at_least: 3
      at_most: 1
    - consent: fax:marketing
      is: maybe
    - stage: asleep
    - rfm: recency
      gte: high
    - fact: city
      eq: Berlin
      ne: Paris
    - not_performed: Order Completed
      since: city
    - trait: x
      exists: false
    - colour: red
"""


def test_every_problem_is_named_with_file_line_and_path() -> None:
    with pytest.raises(sd.InvalidSegment) as caught:
        sd.loads(BAD, "bad.yaml")
    lines = str(caught.value).splitlines()
    assert lines == [
        "bad.yaml:1: id: an id is 1-100 letters, digits, '_', '-' and '.'",
        "bad.yaml:5: where.all[0].fact: unknown fact 'shoe_size' (one of "
        + ", ".join(seg.FACTS)
        + ")",
        "bad.yaml:8: where.all[1].eq: fact 'revenue' holds numbers, not 'lots'",
        "bad.yaml:10: where.all[2].within: bad duration 'soon': use e.g. '3d', '90m', "
        "'1h30m' or 'PT2H'",
        "bad.yaml:12: where.all[2].at_most: at_most is below at_least: nobody could match",
        "bad.yaml:13: where.all[3].consent: consent is channel:purpose with a channel of "
        "email, sms, push, webhook, onsite and a purpose of marketing, transactional",
        "bad.yaml:14: where.all[3].is: 'is' is one of granted, denied, unknown",
        "bad.yaml:15: where.all[4].stage: stage is one of awareness, consideration, decision, "
        "loyalty, lapsed (or a list)",
        "bad.yaml:17: where.all[5].gte: an RFM score compares (eq, gt, gte, ...) with 1 to 5",
        "bad.yaml:18: where.all[6]: give exactly one operator: eq, ne, gt, gte, lt, lte, in, "
        "not_in, exists, missing",
        "bad.yaml:22: where.all[7].since: since is a time fact (first_seen, last_seen, "
        "last_order_at)",
        "bad.yaml:24: where.all[8].exists: write 'exists: true'",
        "bad.yaml:25: where.all[9]: a condition has exactly one of all, any, not, fact, trait, "
        "consent, rfm, stage, performed, not_performed",
    ]
    assert caught.value.where == "bad.yaml:1"


def test_syntax_errors_and_wrong_shapes_name_the_file(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: x\nname: [unclosed\n")
    with pytest.raises(sd.InvalidSegment, match=r"broken.yaml:\d+: not valid YAML"):
        sd.load(broken)
    with pytest.raises(sd.InvalidSegment, match="a segment is a mapping"):
        sd.loads("- 1\n", "list.yaml")
    with pytest.raises(sd.InvalidSegment, match=r"list\.yaml:1: missing 'where'"):
        sd.loads("id: a\nname: b\n", "list.yaml")
