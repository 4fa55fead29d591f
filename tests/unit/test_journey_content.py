"""The ``data`` of send nodes: the grammar refuses what a template could not use, with the
file, line and field of each problem, and the published JSON Schema agrees with it."""

from __future__ import annotations

import datetime as dt
from typing import Any

import jsonschema
import pytest
import yaml

from juncture.core.journeys import content
from juncture.definitions import journeys as journey_definitions

NODE = """id: offers
version: 1
name: Offers
entry: {{reentry: always}}
nodes:
  - {{id: a, type: trigger, event: Signed Up, next: b}}
  - id: b
    type: send
    channel: {channel}
    template: welcome_offer
{extra}
    next: c
  - {{id: c, type: exit}}
"""


def definition(extra: str, channel: str = "email") -> str:
    return NODE.format(channel=channel, extra=extra)


def problems(text: str) -> list[str]:
    with pytest.raises(journey_definitions.InvalidJourney) as info:
        journey_definitions.loads(text, "offers.yaml")
    return [str(p) for p in info.value.problems]


def schema_accepts(text: str) -> bool:
    try:
        jsonschema.validate(yaml.safe_load(text), journey_definitions.schema())
    except jsonschema.ValidationError:
        return False
    return True


GOOD = [
    "    data:\n      offer: {code: WELCOME10, value: 10%, expires: 7d}",
    "    data:\n      offer: {code: X1, expires: '2026-12-24T18:00:00Z'}\n      deadline: 48h",
    "    data:\n      products: [{product_id: p1, name: Kettle, price: 20, currency: EUR,"
    " url: 'https://s.example/p1'}]\n      survey: {question: 'How was it?', scale: 5}",
]
BAD = [
    ("    data:\n      offer: {value: 10%}", "offers.yaml:12: nodes[1].data.offer: missing 'code'"),
    ("    data:\n      offer: {code: X, expires: soon}", "nodes[1].data.offer.expires: expires"),
    ("    data:\n      deadline: '2026-12-24T18:00:00'", "a time needs a zone"),
    ("    data:\n      products: [{name: Kettle}]", "a product needs its product_id"),
    ("    data:\n      products: [{product_id: p1, url: 'ftp://x'}]", "must be an http or https"),
    ("    data:\n      survey: {question: Q, scale: 11}", "scale must be from 2 to 10"),
    ("    data:\n      colour: red", "nodes[1].data.colour: unknown field 'colour'"),
    ("    expires: 3d", "nodes[1].expires: expires is for on-site placements"),
]


@pytest.mark.parametrize("extra", GOOD)
def test_good_data_is_read_and_the_schema_accepts_it(extra: str) -> None:
    text = definition(extra)
    journey = journey_definitions.loads(text)
    assert not journey.nodes["b"].data.empty  # type: ignore[union-attr]
    assert schema_accepts(text)


@pytest.mark.parametrize(("extra", "said"), BAD)
def test_bad_data_is_refused_with_its_place_and_the_schema_refuses_it(
    extra: str, said: str
) -> None:
    text = definition(extra)
    assert any(said in p for p in problems(text)), problems(text)
    assert not schema_accepts(text)


def test_an_on_site_send_takes_how_long_it_waits() -> None:
    extra = "    kind: time_sensitive_offer\n    expires: 2h"
    journey = journey_definitions.loads(definition(extra, channel="onsite"))
    assert journey.nodes["b"].expires == dt.timedelta(hours=2)  # type: ignore[union-attr]


def test_times_are_made_absolute_from_the_send() -> None:
    now = dt.datetime(2026, 6, 1, 9, tzinfo=dt.UTC)
    fixed = dt.datetime(2026, 6, 1, 12, tzinfo=dt.UTC)
    data = content.MessageData(
        offer=content.Offer("X", expires=dt.timedelta(days=1)), deadline=fixed
    )
    resolved: dict[str, Any] = content.resolve(data, now)
    assert resolved == {
        "offer": {"code": "X", "expires_at": "2026-06-02T09:00:00+00:00"},
        "deadline": "2026-06-01T12:00:00+00:00",
    }
    assert content.ends(data, now) == fixed  # the earlier of the two
    assert content.ends(content.MessageData(), now) is None
