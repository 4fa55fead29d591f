"""Journey KPIs and experiments from hand-made rows: first entry per profile, merges followed,
orders counted within the window after entry only, holdouts and split arms compared."""

from __future__ import annotations

import datetime as dt

from juncture.analytics import measure
from juncture.definitions import journeys as journey_definitions
from juncture.store.customer_orders import OrderHistory
from juncture.store.journey_measures import Enrolled, MeasureRows, MessageCount

T0 = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)
WEEK = 7 * DAY

JOURNEY = """\
id: j
version: 1
name: Test
holdout: 20
nodes:
  - {id: start, type: trigger, event: Signed Up, next: split}
  - id: split
    type: split
    branches:
      - {name: plain, weight: 1, next: a}
      - {name: fancy, weight: 1, next: b}
  - {id: a, type: send, channel: email, template: welcome, next: done}
  - {id: b, type: send, channel: email, template: welcome, next: done}
  - {id: done, type: exit}
"""


def entry(
    pid: str, at: dt.datetime, *, holdout: bool = False, branch: str = "plain", goal: bool = False
) -> Enrolled:
    return Enrolled(
        "j",
        1,
        pid,
        holdout,
        at,
        at + DAY if goal else None,
        (("start", "event"), ("split", branch)),
    )


def rows(
    *entries: Enrolled,
    redirects: dict[str, str] | None = None,
    messages: list[MessageCount] | None = None,
) -> MeasureRows:
    return MeasureRows(list(entries), redirects or {}, messages or [])


def test_orders_count_within_the_window_after_the_first_entry_of_the_live_profile() -> None:
    found = measure.outcomes(
        rows(
            entry("p1", T0),
            entry("p1", T0 + 3 * DAY),
            entry("anon", T0 + DAY),
            redirects={"anon": "p2"},
        ),
        [
            OrderHistory("p1", ((T0 - DAY, 5.0), (T0 + DAY, 20.0), (T0 + 8 * DAY, 7.0))),
            OrderHistory("p2", ((T0 + 2 * DAY, 12.5),)),
        ],
        WEEK,
    )
    by = {o.entry.profile_id: o for o in found}
    assert sorted(by) == ["anon", "p1"]
    assert (by["p1"].orders, by["p1"].revenue, by["p1"].converted_at) == (1, 20.0, T0 + DAY)
    assert (by["anon"].orders, by["anon"].revenue) == (1, 12.5)


def test_kpis_per_arm_with_incremental_figures_and_messages() -> None:
    entries = [entry(f"t{i}", T0, goal=i < 5) for i in range(10)]
    entries += [entry(f"h{i}", T0, holdout=True) for i in range(5)]
    orders = [OrderHistory(f"t{i}", ((T0 + DAY, 40.0), (T0 + 2 * DAY, 20.0))) for i in range(4)]
    orders += [OrderHistory("h0", ((T0 + DAY, 30.0),))]
    messages = [
        MessageCount("j", "email", "sent", None, 9),
        MessageCount("j", "email", "failed", None, 1),
        MessageCount("j", "email", "suppressed", "holdout", 5),
        MessageCount(None, "email", "sent", None, 3),
    ]
    r = rows(*entries, messages=messages)
    k = measure.kpis(r, measure.outcomes(r, orders, WEEK))["j"].to_json()
    assert k["treatment"]["profiles"] == 10 and k["holdout"]["profiles"] == 5
    assert (k["treatment"]["goal_reached"], k["treatment"]["goal_rate"]) == (5, 0.5)
    assert (k["treatment"]["converted"], k["treatment"]["orders"]) == (4, 8)
    assert (k["treatment"]["revenue"], k["treatment"]["aov"]) == (240.0, 30.0)
    assert k["holdout"]["conversion_rate"] == 0.2
    assert k["incremental"] == {"conversions": 2.0, "revenue": 180.0}  # (0.4-0.2)*10, (24-6)*10
    assert k["messages"] == {"email": {"failed": 1, "sent": 9, "suppressed": 5}}
    assert k["suppressed"] == {"holdout": 5}


def test_the_holdout_and_the_split_are_experiments_with_their_weights() -> None:
    spec = journey_definitions.loads(JOURNEY, "j.yaml")
    entries = [
        entry(f"t{i}", T0 + i * dt.timedelta(minutes=5), branch="plain" if i % 2 else "fancy")
        for i in range(200)
    ]
    entries += [entry(f"h{i}", T0, holdout=True, branch="fancy") for i in range(50)]
    orders = [OrderHistory(f"t{i}", ((T0 + 2 * DAY, 10.0),)) for i in range(0, 200, 4)]
    r = measure.report(rows(*entries), orders, {"j": spec}, T0 + 10 * DAY)
    names = [x.experiment for x in r.experiments]
    assert names == ["j:holdout", "j:split:split"]
    holdout, split = r.experiments
    assert (holdout.control.name, holdout.control.profiles, holdout.control.weight) == (
        "holdout",
        50,
        0.2,
    )
    assert holdout.arms[0].profiles == 200
    assert [a.name for a in (split.control, *split.arms)] == ["plain", "fancy"]
    assert split.control.profiles + split.arms[0].profiles == 200  # held out profiles left out
    assert split.arms[0].converted == 50 and split.control.converted == 0
    assert len(split.control.daily) == 11  # ten midnights after the first entry, and now
    csv_rows = r.experiment_rows()
    assert {row["experiment"] for row in csv_rows} == {"j:holdout", "j:split:split"}
    assert {row["arm"] for row in r.kpi_rows()} == {"treatment", "holdout"}
