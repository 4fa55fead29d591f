from __future__ import annotations

import dataclasses
import datetime as dt

import msgspec
import pytest

from juncture.core.journeys import commands as c
from juncture.core.journeys import machine
from juncture.core.journeys import spec as nodes
from juncture.core.journeys.catalog import Catalog
from juncture.core.journeys.state import Enrollment
from juncture.definitions import journeys as journey_definitions
from tests.unit.core.journeys.factory import CART, T0, Engine, event, journey, of, profile

H = dt.timedelta(hours=1)


def test_cart_trigger_enrolls_and_arms_the_wait() -> None:
    engine = Engine([journey(CART)])
    step = engine.send(event("Product Added", cart_id="c1"))
    (enrollment,) = step.enrollments
    assert (enrollment.key, enrollment.node, enrollment.version) == ("c1", "wait", 1)
    (timer,) = of(c.ScheduleTimer, step.commands)
    assert timer.due_at == T0 + H
    assert enrollment.waiting is not None
    assert enrollment.waiting.timer_key == timer.key


def test_same_key_product_added_resets_the_timer_instead_of_enrolling() -> None:
    engine = Engine([journey(CART)])
    first = of(c.ScheduleTimer, engine.send(event("Product Added", cart_id="c1")).commands)[0]
    step = engine.send(event("Product Added", T0 + 40 * dt.timedelta(minutes=1), cart_id="c1"))
    (rearmed,) = of(c.ScheduleTimer, step.commands)
    assert rearmed.key == first.key
    assert rearmed.due_at == T0 + 100 * dt.timedelta(minutes=1)
    assert len(engine.enrollments) == 1
    engine.run_until(T0 + 90 * dt.timedelta(minutes=1))
    assert of(c.Send, engine.log) == []
    engine.run_until(T0 + 2 * H)
    (send,) = of(c.Send, engine.log)
    assert (send.channel, send.template, send.purpose) == ("email", "cart_reminder", "marketing")
    assert send.context["event"]["properties"] == {"cart_id": "c1"}


def test_other_cart_key_gets_its_own_enrollment() -> None:
    engine = Engine([journey(CART)])
    engine.send(event("Product Added", cart_id="c1"))
    engine.send(event("Product Added", T0 + H / 2, cart_id="c2"))
    assert sorted(e.key or "" for e in engine.enrollments.values()) == ["c1", "c2"]


def test_order_for_the_cart_reaches_the_goal_and_exits() -> None:
    engine = Engine([journey(CART)])
    engine.send(event("Product Added", cart_id="c1"))
    engine.send(event("Product Added", T0 + H / 4, cart_id="c2"))
    step = engine.send(event("Order Completed", T0 + H / 2, cart_id="c1"))
    assert len(of(c.RecordGoal, step.commands)) == 1
    (exit_,) = of(c.RecordExit, step.commands)
    assert exit_.reason == "goal"
    assert len(of(c.CancelTimer, step.commands)) == 1
    engine.run_until(T0 + 3 * H)
    (send,) = of(c.Send, engine.log)  # only the other cart is reminded
    assert send.context["key"] == "c2"


def test_stale_timer_changes_nothing() -> None:
    spec = journey(CART)
    engine = Engine([spec])
    step = engine.send(event("Product Added", cart_id="c1"))
    (schedule,) = of(c.ScheduleTimer, step.commands)
    engine.send(event("Product Added", T0 + H / 2, cart_id="c1"))
    enrollment = next(iter(engine.enrollments.values()))
    assert machine.on_timer(spec, enrollment, schedule, profile(), T0 + H) == machine.Step()


def test_exit_criteria_end_the_enrollment() -> None:
    engine = Engine([journey(CART)])
    engine.send(event("Product Added", cart_id="c1"))
    step = engine.send(event("Unsubscribed", T0 + H / 2))
    assert [x.reason for x in of(c.RecordExit, step.commands)] == ["exit_criteria"]
    assert all(e.exited for e in engine.enrollments.values())
    assert engine.timers == {}


def test_goal_outside_its_window_is_not_recorded() -> None:
    text = CART.replace("within: 7d", "within: 30m")
    engine = Engine([journey(text)])
    engine.send(event("Product Added", cart_id="c1"))
    step = engine.send(event("Order Completed", T0 + H / 2 + dt.timedelta(minutes=5), cart_id="c1"))
    assert of(c.RecordGoal, step.commands) == []
    # the awaited event still takes the on_event branch, which exits
    assert [x.reason for x in of(c.RecordExit, step.commands)] == ["completed"]


def test_in_flight_enrollments_stay_on_their_version() -> None:
    v1 = journey(CART)
    v2 = journey(CART.replace("version: 1", "version: 2").replace("cart_reminder", "cart_v2"))
    engine = Engine([v1])
    engine.send(event("Product Added", cart_id="c1"))
    engine.journeys = [v1, v2]
    engine.send(event("Product Added", T0 + H / 2, cart_id="c2"))
    versions = {e.key: e.version for e in engine.enrollments.values()}
    assert versions == {"c1": 1, "c2": 2}
    engine.run_until(T0 + 3 * H)
    sends = {s.context["key"]: (s.version, s.template) for s in of(c.Send, engine.log)}
    assert sends == {"c1": (1, "cart_reminder"), "c2": (2, "cart_v2")}


WELCOME = """
id: welcome
version: 1
name: Welcome
entry: {reentry: REENTRY}
nodes:
  - {id: t, type: trigger, event: Signed Up, next: hello}
  - {id: hello, type: send, channel: email, template: hi, next: done}
  - {id: done, type: exit}
"""


@pytest.mark.parametrize(
    ("rule", "later", "enters"),
    [
        ("never", dt.timedelta(days=400), False),
        ("always", dt.timedelta(minutes=1), True),
        ("cooldown, cooldown: 30d", dt.timedelta(days=29), False),
        ("cooldown, cooldown: 30d", dt.timedelta(days=30), True),
    ],
)
def test_reentry_rules(rule: str, later: dt.timedelta, enters: bool) -> None:
    engine = Engine([journey(WELCOME.replace("REENTRY", rule))])
    engine.send(event("Signed Up"))
    assert all(e.exited for e in engine.enrollments.values())
    step = engine.send(event("Signed Up", T0 + later))
    assert (len(step.enrollments) == 1) is enters


def test_one_active_enrollment_per_profile_without_key() -> None:
    text = WELCOME.replace("REENTRY", "always").replace("next: hello}", "next: pause}")
    text += "  - {id: pause, type: wait, duration: 1d, next: hello}\n"
    engine = Engine([journey(text)])
    engine.send(event("Signed Up"))
    assert engine.send(event("Signed Up", T0 + H)).enrollments == ()


def test_holdout_is_enrolled_and_measured_but_never_sent() -> None:
    spec = dataclasses.replace(journey(CART), holdout_percent=100.0)
    engine = Engine([spec])
    engine.send(event("Product Added", cart_id="c1"))
    engine.run_until(T0 + 2 * H)
    assert of(c.Send, engine.log) == []
    (suppressed,) = of(c.RecordSuppressed, engine.log)
    assert suppressed.reason == "holdout"
    (enrollment,) = engine.enrollments.values()
    assert enrollment.holdout


def test_holdout_share_is_roughly_the_configured_percentage() -> None:
    spec = dataclasses.replace(journey(CART), holdout_percent=10.0)
    held = 0
    for n in range(2000):
        step = machine.on_event(
            [spec], [], profile(f"p{n}"), event("Product Added", cart_id="c"), T0
        )
        held += step.enrollments[0].holdout
    assert 150 < held < 250


SPLIT = """
id: ab
version: 1
name: AB
nodes:
  - {id: t, type: trigger, event: Signed Up, next: s}
  - id: s
    type: split
    branches:
      - {name: a, weight: 70, next: send_a}
      - {name: b, weight: 30, next: send_b}
  - {id: send_a, type: send, channel: email, template: a, next: done}
  - {id: send_b, type: send, channel: email, template: b, next: done}
  - {id: done, type: exit}
"""


def test_split_is_deterministic_and_follows_the_weights() -> None:
    spec = journey(SPLIT)
    counts = {"a": 0, "b": 0}
    for n in range(10_000):
        step = machine.on_event([spec], [], profile(f"p{n}"), event("Signed Up"), T0)
        branch = step.enrollments[0].branch("s")
        assert branch is not None
        counts[branch] += 1
        again = machine.on_event([spec], [], profile(f"p{n}"), event("Signed Up", T0 + H), T0 + H)
        assert again.enrollments[0].branch("s") == branch
    assert 6800 < counts["a"] < 7200


CONDITION = """
id: cond
version: 1
name: Cond
nodes:
  - {id: t, type: trigger, event: NPS Submitted, next: c}
  - id: c
    type: condition
    branches:
      - {when: event.properties.score <= 6, next: ticket}
      - {when: "event.properties.score >= 9 and profile.traits.city == 'Lyon'", next: review}
    else: thanks
  - {id: ticket, type: webhook, url: "https://x.test/t", body: {k: v}, next: tag}
  - {id: tag, type: set_trait, trait: detractor, value: true, next: emit}
  - {id: emit, type: emit_event, event: Detractor Found, properties: {s: 1}, next: done}
  - {id: review, type: send, channel: email, template: review, next: done}
  - {id: thanks, type: send, channel: sms, template: thanks, purpose: transactional, next: done}
  - {id: done, type: exit}
"""


@pytest.mark.parametrize(
    ("score", "city", "outcome"),
    [(3, "Lyon", "0"), (10, "Lyon", "1"), (10, "Paris", "otherwise"), (7, "Lyon", "otherwise")],
)
def test_condition_branches(score: int, city: str, outcome: str) -> None:
    step = machine.on_event(
        [journey(CONDITION)], [], profile(city=city), event("NPS Submitted", score=score), T0
    )
    assert step.enrollments[0].branch("c") == outcome


def test_action_nodes_produce_their_commands() -> None:
    step = machine.on_event(
        [journey(CONDITION)], [], profile(), event("NPS Submitted", score=2), T0
    )
    hook, trait, emitted = of(c.RunAction, step.commands)
    assert isinstance(hook.action, nodes.CallWebhook)
    assert (hook.action.url, hook.action.method, dict(hook.action.body)) == (
        "https://x.test/t",
        "POST",
        {"k": "v"},
    )
    assert hook.event["properties"] == {"score": 2}
    assert isinstance(trait.action, nodes.SetTrait)
    assert (trait.action.trait, trait.action.value, trait.profile_id) == ("detractor", True, "p1")
    assert isinstance(emitted.action, nodes.EmitEvent)
    assert emitted.action.event == "Detractor Found"
    assert [x.action.id for x in (hook, trait, emitted)] == ["ticket", "tag", "emit"]
    keys = {x.idempotency_key for x in (hook, trait, emitted)}
    assert len(keys) == 3
    assert all(key.startswith("cond:1:") for key in keys)
    assert step.enrollments[0].exited


WAITS = """
id: waits
version: 1
name: Waits
nodes:
  - {id: t, type: trigger, date: birthday, next: d}
  - {id: d, type: wait, duration: PT2H, next: m}
  - {id: m, type: wait, until_time: "10:00", next: hello}
  - {id: hello, type: send, channel: push, template: bday, next: done}
  - {id: done, type: exit}
"""


def test_date_trigger_duration_and_time_of_day_in_the_profile_zone() -> None:
    spec = journey(WAITS)
    engine = Engine([spec], profile(timezone="America/New_York"))
    now = dt.datetime(2024, 3, 1, 18, 0, tzinfo=dt.UTC)
    assert engine.send(event("Date Reached", now, trait="anniversary")).enrollments == ()
    step = engine.send(event("Date Reached", now, trait="birthday"))
    assert of(c.ScheduleTimer, step.commands)[0].due_at == now + 2 * H
    engine.run_until(now + 2 * H)
    # 20:00 UTC is 15:00 in New York: the next 10:00 there is 15:00 UTC the next day
    (timer,) = engine.timers.values()
    assert timer.due_at == dt.datetime(2024, 3, 2, 15, 0, tzinfo=dt.UTC)
    engine.run_until(timer.due_at)
    assert [s.channel for s in of(c.Send, engine.log)] == ["push"]


def test_segment_trigger_matches_the_segment_id() -> None:
    text = WAITS.replace("date: birthday", "segment_entered: vip")
    step = machine.on_event(
        [journey(text)], [], profile(), event("Segment Entered", segment_id="vip"), T0
    )
    assert len(step.enrollments) == 1


def test_enrollment_and_timer_round_trip_through_json() -> None:
    engine = Engine([journey(CART)])
    step = engine.send(event("Product Added", cart_id="c1"))
    enrollment = step.enrollments[0]
    assert Enrollment.from_json(enrollment.to_json()) == enrollment
    timer = of(c.ScheduleTimer, step.commands)[0]
    assert msgspec.json.decode(msgspec.json.encode(timer), type=c.ScheduleTimer) == timer


def test_idempotency_key_is_journey_version_enrollment_node_step() -> None:
    engine = Engine([journey(CART)])
    engine.send(event("Product Added", cart_id="c1"))
    engine.run_until(T0 + 2 * H)
    (send,) = of(c.Send, engine.log)
    (enrollment,) = engine.enrollments.values()
    assert send.idempotency_key.startswith(f"cart:1:{enrollment.id}:email:")


def test_react_with_the_catalog_index_is_on_event() -> None:
    """The engine's path (journeys looked up once per catalog, events no version hears
    skipped) decides exactly what :func:`machine.on_event` decides from the bare versions."""
    library = journey_definitions.load_library()
    closed = "post_purchase"  # its enrollments carry on; it takes no one new
    catalog = Catalog(tuple(library), frozenset(j.id for j in library if j.id != closed))
    prof = profile(email="a@b.c")
    hour = dt.timedelta(hours=1)
    sent = [
        event("Signed Up"),
        event("Product Viewed", T0 + hour, product_id="x"),
        event("Product Added", T0 + 2 * hour, cart_id="c1"),
        event("Page Viewed", T0 + 2 * hour),
        event("Order Completed", T0 + 3 * hour, cart_id="c1", total=10),
        event("NPS Submitted", T0 + 4 * hour, score=3),
        event("Unsubscribed", T0 + 5 * hour),
    ]
    enrollments: dict[str, Enrollment] = {}
    for ev in sent:
        now = ev.timestamp
        entering = catalog.starters.get(ev.display_name, ())
        mine = machine.react(catalog.by_version, entering, enrollments.values(), prof, ev, now=now)
        theirs = machine.on_event(
            catalog.versions, enrollments.values(), prof, ev, now, open_for_entry=catalog.open
        )
        assert mine == theirs
        enrollments.update((e.id, e) for e in mine.enrollments)
    assert {e.journey_id for e in enrollments.values()} >= {"welcome_series", "cart_abandonment"}
