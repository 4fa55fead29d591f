"""What journeys say about their messages: the ``data`` of send nodes and the journey's send
window. The grammar refuses what could not be used, with the file, line and field of each
problem, the published JSON Schema agrees with it, and arbitration holds marketing for the
window in the customer's own time."""

from __future__ import annotations

import datetime as dt
from typing import Any

import jsonschema
import pytest
import yaml

from juncture.core.journeys import content
from juncture.core.journeys.arbitration import (
    ContactHistory,
    Decision,
    Policy,
    QuietHours,
    arbitrate,
)
from juncture.core.journeys.commands import Send
from juncture.core.journeys.windows import SendWindow
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


WINDOW = "send_window: {days: [mon, tue, wed, thu, fri], hours: '09:00-18:00'}\n"


def windowed(extra: str) -> str:
    return definition("").replace("nodes:\n", extra + "nodes:\n", 1)


def test_a_send_window_is_read_and_the_schema_accepts_it() -> None:
    journey = journey_definitions.loads(windowed(WINDOW))
    assert journey.send_window == SendWindow(frozenset(range(5)), dt.time(9), dt.time(18))
    assert schema_accepts(windowed(WINDOW))
    assert journey_definitions.loads(windowed("send_window: {days: [sat]}\n")).send_window == (
        SendWindow(frozenset({5}))
    )


@pytest.mark.parametrize(
    ("window", "said"),
    [
        ("send_window: {days: [monday]}\n", "offers.yaml:5: send_window.days: days are some of"),
        ("send_window: {days: []}\n", "send_window.days"),
        ("send_window: {hours: '9-18'}\n", "send_window.hours: hours are HH:MM-HH:MM"),
        ("send_window: {hours: '25:00-08:00'}\n", "send_window.hours"),
        ("send_window: {weeks: 2}\n", "send_window.weeks: unknown field"),
    ],
)
def test_a_bad_send_window_is_refused_with_its_place(window: str, said: str) -> None:
    text = windowed(window)
    assert any(said in p for p in problems(text)), problems(text)
    assert not schema_accepts(text)


def send(window: SendWindow | None, purpose: str = "marketing", channel: str = "email") -> Send:
    return Send("j", 1, "e1", "p1", node="n", idempotency_key="k", channel=channel,
                purpose=purpose, window=window)  # fmt: skip


def decide(candidate: Send, at: dt.datetime, quiet: QuietHours | None = None) -> Decision:
    policy = Policy(quiet_hours=quiet)
    [decided] = arbitrate([candidate], ContactHistory(), policy, consent={"email": True},
                          timezone="Europe/Berlin", now=at)  # fmt: skip
    return decided


def test_marketing_outside_the_window_waits_for_its_next_opening_in_the_customers_time() -> None:
    weekdays = SendWindow(frozenset(range(5)), dt.time(9), dt.time(18))
    saturday = dt.datetime(2026, 6, 6, 10, tzinfo=dt.UTC)  # 12:00 in Berlin
    held = decide(send(weekdays), saturday)
    monday_nine_berlin = dt.datetime(2026, 6, 8, 7, tzinfo=dt.UTC)
    assert (held.outcome, held.reason, held.until) == (
        "deferred",
        "send_window",
        monday_nine_berlin,
    )
    assert decide(send(weekdays), dt.datetime(2026, 6, 8, 8, tzinfo=dt.UTC)).outcome == "allowed"
    assert decide(send(weekdays, "transactional"), saturday).outcome == "allowed"
    assert decide(send(weekdays, channel="onsite"), saturday).outcome == "allowed"
    early = SendWindow(frozenset(range(7)), dt.time(7), dt.time(22))
    quiet = QuietHours(start=dt.time(21), end=dt.time(8))  # the window opens inside them
    night = dt.datetime(2026, 6, 6, 21, 30, tzinfo=dt.UTC)  # 23:30 in Berlin
    waited = decide(send(early), night, quiet)
    assert waited.until == dt.datetime(2026, 6, 7, 6, tzinfo=dt.UTC)  # 08:00 Berlin, not 07:00
