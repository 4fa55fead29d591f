"""Measures over a small demo: the deliveries it records replay each customer's run
exactly, every journey with a holdout shows the simulator's true effect beside its measured
lift, and the touchpoint map counts every touch and delivered message the store holds."""

from __future__ import annotations

import datetime as dt
import itertools
import shutil
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from juncture.core import channels
from juncture.demo import effects, harness
from juncture.runtime import catalog_events as runtime_catalog
from juncture.sim import Simulation
from juncture.sim import counterfactual as cf
from juncture.sim.response import Delivery
from juncture.store import tables, touchpoint_map
from juncture.store.kpis import KpiQuery
from juncture.store.touchpoint_map import TouchpointMaps
from tests.conftest import settings_for

CUSTOMERS, DAYS = 150, 7


@pytest.fixture(scope="module")
def demo(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, Any], Simulation, list[Delivery], str]:
    path = tmp_path_factory.mktemp("effects") / "demo.db"
    shutil.copy(sqlite_template, path)
    seen: dict[str, Any] = {}
    annotate = effects.annotate

    def spy(lifts: Any, sim: Simulation, arrivals: Sequence[Delivery], *rest: Any) -> None:
        seen.update(sim=sim, arrivals=list(arrivals))
        annotate(lifts, sim, arrivals, *rest)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(effects, "annotate", spy)
        juncture, clock = harness.build(settings_for(f"sqlite:///{path}"))
        try:
            summary = harness.run(juncture, clock, seed=3, customers=CUSTOMERS, days=DAYS)
        finally:
            juncture.close()
    return summary.to_json(), seen["sim"], seen["arrivals"], f"sqlite:///{path}"


def test_the_recorded_deliveries_replay_every_customer_exactly(
    demo: tuple[dict[str, Any], Simulation, list[Delivery], str],
) -> None:
    _, sim, arrivals, _ = demo
    assert arrivals, "the demo delivered nothing: nothing to replay"
    again = cf.replay(sim.config, arrivals, customers=None)
    assert sorted((p.user_id, p.at) for p in again.purchases) == sorted(
        (p.user_id, p.at) for p in sim.ground_truth.purchases
    )
    assert again.reactions == sim.ground_truth.reactions


def test_each_journey_with_a_holdout_shows_its_true_effect(
    demo: tuple[dict[str, Any], Simulation, list[Delivery], str],
) -> None:
    summary, _, arrivals, _ = demo
    lifts = summary["journeys"]["lift"]
    with_holdout = {j for j, row in lifts.items() if row["holdout"]["profiles"]}
    assert with_holdout, "no journey had a holdout in the run"
    for journey in with_holdout:
        row = lifts[journey]
        assert -1.0 <= row["true_effect"] <= 1.0
        assert row["covered"] == (row["ci95_low"] <= row["true_effect"] <= row["ci95_high"])
        reached = any(d.journey == journey for d in arrivals)
        assert (row["true_changed"] > 0) <= reached  # no message, no effect
    assert all("true_effect" not in lifts[j] for j in set(lifts) - with_holdout)
    decided = {e["experiment"]: e for e in summary["journeys"]["experiments"]}
    for journey in with_holdout:  # each holdout is an experiment, with its decision
        found = decided[f"{journey}:holdout"]
        assert found["arms"]["holdout"]["profiles"] == lifts[journey]["holdout"]["profiles"]
        assert found["action"] in {"investigate", "keep running", "ship", "stop", "no effect"}


def test_the_touchpoint_map_counts_every_touch_and_delivered_message(
    demo: tuple[dict[str, Any], Simulation, list[Delivery], str],
) -> None:
    *_, url = demo
    engine = sa.create_engine(url)
    e, o = tables.events, tables.outbox
    with engine.connect() as conn:
        touches = conn.execute(
            sa.select(sa.func.count()).where(
                e.c.source == harness.DEMO_SOURCE, e.c.type.not_in(["identify", "group", "alias"])
            )
        ).scalar_one()
        delivered = {
            str(p): int(n)
            for p, n in conn.execute(
                sa.select(o.c.profile_id, sa.func.count())
                .where(o.c.status.in_(["sent", "shown"]))
                .group_by(o.c.profile_id)
            )
        }
    reads = TouchpointMaps(engine)
    rows = reads.by_stage(KpiQuery())
    assert sum(r["touches"] for r in rows if r["kind"] == "event") == touches
    assert runtime_catalog.SOURCE in touchpoint_map.NOT_PEOPLE
    assert sum(r["touches"] for r in rows if r["kind"] == "message") == sum(delivered.values())
    busiest = max(delivered, key=lambda p: delivered[p])
    mine = reads.of_person(busiest, KpiQuery())
    assert sum(r["count"] for r in mine if r["kind"] == "message") >= delivered[busiest]
    assert all(r["channel"] in channels.NAMES for r in mine if r["kind"] == "message")
    assert [r["at"] for r in mine] == sorted(r["at"] for r in mine)
    engine.dispose()


# The touchpoint map as it was computed in Python before it moved into SQL, kept as the
# reference: the person's stream in order, the stage of each touch walked along it.
def _reference(
    reads: TouchpointMaps, q: KpiQuery
) -> tuple[list[dict[str, Any]], dict[str, list[tuple[Any, ...]]]]:
    both = sa.union_all(sa.select(reads._touches(q, None)), sa.select(reads._moves(q, None)))
    s = both.subquery()
    ties = (s.c.channel, s.c.touchpoint, s.c.journey_id, s.c.node_id, s.c.moved_to)
    ordered = sa.select(s).order_by(
        s.c.profile_id, s.c.at, s.c.rank, *(sa.func.coalesce(c, "") for c in ties)
    )
    p = tables.profiles
    with reads.engine.connect() as conn:
        rows = list(conn.execute(ordered))
        now = dict(conn.execute(sa.select(p.c.profile_id, p.c.stage).where(
            p.c.redirect_to.is_(None), p.c.stage.is_not(None))).all())  # fmt: skip
    since = None if q.since is None else q.since.astimezone(dt.UTC)
    touches: Counter[tuple[str, ...]] = Counter()
    profiles: Counter[tuple[str, ...]] = Counter()
    first: Counter[tuple[str, ...]] = Counter()
    people: dict[str, list[tuple[Any, ...]]] = {}
    for person, run in itertools.groupby(rows, key=lambda r: r.profile_id):
        items = list(run)
        moves = [t for t in items if t.kind == "stage"]
        stage = (moves[0].moved_from if moves else None) or now.get(person) or "awareness"
        seen: set[tuple[str, ...]] = set()
        previous = None
        for t in items:
            at = t.at if t.at.tzinfo else t.at.replace(tzinfo=dt.UTC)
            if t.kind == "stage":
                stage = t.moved_to or stage
                continue
            if since is not None and at < since:
                continue
            key = (stage, t.kind, t.channel or "unknown", t.touchpoint or "")
            touches[key] += 1
            profiles[key] += 0 if key in seen else 1
            first[key] += stage != previous
            seen.add(key)
            previous = stage
            people.setdefault(person, []).append(
                (stage, t.kind, t.channel, t.touchpoint, t.journey_id, t.node_id, at)
            )
    order = sorted(touches, key=lambda k: (
        touchpoint_map.STAGE_ORDER.get(k[0], 99), -touches[k], k))  # fmt: skip
    return [
        {"stage": k[0], "kind": k[1], "channel": k[2], "touchpoint": k[3],
         "profiles": profiles[k], "touches": touches[k], "first": first[k]}
        for k in order
    ], people  # fmt: skip


def _copy(source: str, target: str) -> str:
    """The demo's profiles, events and outbox copied into the database at ``target``."""
    engines = sa.create_engine(source), sa.create_engine(target)
    try:
        with engines[0].connect() as read, engines[1].begin() as write:
            for table in (tables.profiles, tables.events, tables.outbox):
                rows = [dict(r._mapping) for r in read.execute(sa.select(table))]
                write.execute(table.insert(), rows)
    finally:
        for engine in engines:
            engine.dispose()
    return target


@pytest.mark.parametrize(
    "database", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)]
)
def test_the_touchpoint_map_in_sql_equals_the_walk_in_python(
    demo: tuple[dict[str, Any], Simulation, list[Delivery], str],
    database: str,
    request: pytest.FixtureRequest,
) -> None:
    *_, url = demo
    if database == "postgres":
        url = _copy(url, request.getfixturevalue("postgres_url"))
    engine = sa.create_engine(url)
    reads = TouchpointMaps(engine)
    with engine.connect() as conn:
        at = tables.events.c.timestamp
        start, end = conn.execute(sa.select(sa.func.min(at), sa.func.max(at))).one()
    start, end = (t if t.tzinfo else t.replace(tzinfo=dt.UTC) for t in (start, end))
    middle = start + (end - start) / 2
    for q in (KpiQuery(), KpiQuery(since=middle), KpiQuery(until=middle),
              KpiQuery(since=start + (end - start) / 4, until=middle)):  # fmt: skip
        expected, people = _reference(reads, q)
        found = reads.by_stage(q)
        assert found == expected, q
        assert sum(r["first"] for r in found) > len(people)  # people change stage
        moved = [p for p in people if len({t[0] for t in people[p]}) > 1]
        for person in [*moved[:5], *list(people)[:5]]:
            mine = reads.of_person(person, q)
            assert [
                (r["stage"], r["kind"], r["channel"], r["touchpoint"], r["journey_id"],
                 r["node_id"], r["count"], r["at"], r["last_at"]) for r in mine
            ] == _runs(people[person]), (q, person)  # fmt: skip
    engine.dispose()


def _runs(touches: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    found = []
    for key, run in itertools.groupby(touches, key=lambda t: t[:6]):
        items = list(run)
        stage, kind, channel, *rest = key
        found.append((stage, kind, channel or "unknown", *rest, len(items),
                      items[0][6].isoformat(), items[-1][6].isoformat()))  # fmt: skip
    return found
