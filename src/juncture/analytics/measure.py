"""Journey KPIs and experiments from the stored enrollments, orders and outbox.

A profile *converts* in a journey when it reaches the journey's goal (``goal``) or, for the
order figures, when it places an order within ``window`` of its first entry (merged
profiles followed to the profile they live on in; a profile entering twice counts once,
from its first entry). Per journey and arm (``treatment``: those the journey acts on;
``holdout``: those it holds out): profiles, goal conversions, order conversions, orders,
revenue, average order value and revenue per profile, and the *incremental* conversions and
revenue against the holdout (the treatment's rate minus the holdout's, times the treatment's
profiles: what the journey caused, unlike last-touch attribution). Messages by channel and
status, and suppressions by reason.

Every holdout and every random split is an experiment, judged by :mod:`verdict`: the
holdout against the treatment (control: the holdout), and each split's branches against its
first branch (or one named ``control``), among profiles not held out.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from juncture.analytics import verdict
from juncture.analytics.experiments import Moments
from juncture.core.journeys import spec as s
from juncture.store.customer_orders import OrderHistory
from juncture.store.journey_measures import Enrolled, MeasureRows

TREATMENT, HOLDOUT = "treatment", "holdout"


@dataclass(frozen=True, slots=True)
class Outcome:
    """One profile's first entry in a journey and what followed within the window."""

    entry: Enrolled
    goal: bool
    converted_at: dt.datetime | None
    orders: int
    revenue: float


@dataclass
class _Tally:
    profiles: int = 0
    goals: int = 0
    converted: int = 0
    orders: int = 0
    revenue: float = 0.0
    squares: float = 0.0

    def add(self, o: Outcome) -> None:
        self.profiles += 1
        self.goals += o.goal
        self.converted += o.converted_at is not None
        self.orders += o.orders
        self.revenue += o.revenue
        self.squares += o.revenue * o.revenue

    def to_json(self) -> dict[str, Any]:
        n = self.profiles
        return {
            "profiles": n,
            "goal_reached": self.goals,
            "goal_rate": self.goals / n if n else None,
            "converted": self.converted,
            "conversion_rate": self.converted / n if n else None,
            "orders": self.orders,
            "revenue": round(self.revenue, 2),
            "aov": round(self.revenue / self.orders, 2) if self.orders else None,
            "revenue_per_profile": self.revenue / n if n else None,
        }


@dataclass
class JourneyKpis:
    journey_id: str
    arms: dict[str, _Tally] = field(
        default_factory=lambda: {TREATMENT: _Tally(), HOLDOUT: _Tally()}
    )
    messages: dict[str, dict[str, int]] = field(default_factory=dict)  # channel -> status -> n
    suppressed: dict[str, int] = field(default_factory=dict)  # reason -> n

    def to_json(self) -> dict[str, Any]:
        t, h = self.arms[TREATMENT], self.arms[HOLDOUT]
        return {
            "journey_id": self.journey_id,
            TREATMENT: t.to_json(),
            HOLDOUT: h.to_json(),
            "incremental": _incremental(t, h),
            "messages": self.messages,
            "suppressed": self.suppressed,
        }


def _incremental(t: _Tally, h: _Tally) -> dict[str, float | None]:
    if not t.profiles or not h.profiles:
        return {"conversions": None, "revenue": None}
    rate = t.converted / t.profiles - h.converted / h.profiles
    per = t.revenue / t.profiles - h.revenue / h.profiles
    return {"conversions": round(rate * t.profiles, 2), "revenue": round(per * t.profiles, 2)}


def outcomes(
    rows: MeasureRows, orders: Iterable[OrderHistory], window: dt.timedelta
) -> list[Outcome]:
    """Each profile's first entry per journey, with its goal and its orders in the window."""
    by_profile = {h.profile_id: h.orders for h in orders}
    first: dict[tuple[str, str], Enrolled] = {}
    for e in rows.enrollments:
        live = rows.redirects.get(e.profile_id, e.profile_id)
        known = first.get((e.journey_id, live))
        if known is None or e.entered_at < known.entered_at:
            first[(e.journey_id, live)] = e
    found = []
    for (_, live), e in first.items():
        made = [o for o in by_profile.get(live, ()) if e.entered_at < o[0] <= e.entered_at + window]
        found.append(Outcome(
            e, e.goal_reached_at is not None, made[0][0] if made else None,
            len(made), sum(r for _, r in made),
        ))  # fmt: skip
    return found


def kpis(rows: MeasureRows, found: Iterable[Outcome]) -> dict[str, JourneyKpis]:
    """Per journey: the arms' figures, messages and suppressions."""
    out: dict[str, JourneyKpis] = {}
    for o in found:
        j = out.setdefault(o.entry.journey_id, JourneyKpis(o.entry.journey_id))
        j.arms[HOLDOUT if o.entry.holdout else TREATMENT].add(o)
    for m in rows.messages:
        if m.journey_id is None:
            continue
        j = out.setdefault(m.journey_id, JourneyKpis(m.journey_id))
        by_status = j.messages.setdefault(m.channel, {})
        by_status[m.status] = by_status.get(m.status, 0) + m.count
        if m.reason is not None:
            j.suppressed[m.reason] = j.suppressed.get(m.reason, 0) + m.count
    return dict(sorted(out.items()))


def experiments(
    specs: Mapping[str, s.JourneySpec],
    found: Iterable[Outcome],
    now: dt.datetime,
    *,
    smallest_lift: float = 0.1,
) -> list[verdict.Result]:
    """Every holdout and every split of the journeys in ``specs`` that has entries."""
    by_journey: dict[str, list[Outcome]] = defaultdict(list)
    for o in found:
        by_journey[o.entry.journey_id].append(o)
    results = []
    for journey_id, spec in sorted(specs.items()):
        mine = by_journey.get(journey_id, [])
        if not mine:
            continue
        per_day = _per_day(mine, now)
        if spec.holdout_percent > 0:
            h = spec.holdout_percent / 100
            groups = {HOLDOUT: [o for o in mine if o.entry.holdout],
                      TREATMENT: [o for o in mine if not o.entry.holdout]}  # fmt: skip
            arms = _arms(groups, {HOLDOUT: h, TREATMENT: 1 - h}, now)
            results.append(verdict.judge(f"{journey_id}:holdout", arms[0], arms[1:],
                                         smallest_lift=smallest_lift, per_day=per_day))  # fmt: skip
        for node in spec.nodes.values():
            if isinstance(node, s.Split):
                results.append(
                    _split(
                        journey_id,
                        node,
                        mine=mine,
                        now=now,
                        smallest_lift=smallest_lift,
                        per_day=per_day,
                    )
                )
    return results


def _split(
    journey_id: str,
    node: s.Split,
    *,
    mine: list[Outcome],
    now: dt.datetime,
    smallest_lift: float,
    per_day: float | None,
) -> verdict.Result:
    names = [b.name for b in node.branches]
    control = "control" if "control" in names else names[0]
    order = [control, *(n for n in names if n != control)]
    groups: dict[str, list[Outcome]] = {n: [] for n in order}
    for o in mine:
        taken = dict(o.entry.history).get(node.id)
        if not o.entry.holdout and taken in groups:
            groups[taken].append(o)
    total = sum(b.weight for b in node.branches)
    weights = {b.name: b.weight / total for b in node.branches}
    arms = _arms(groups, weights, now)
    return verdict.judge(f"{journey_id}:split:{node.id}", arms[0], arms[1:],
                         smallest_lift=smallest_lift, per_day=per_day)  # fmt: skip


def _arms(
    groups: dict[str, list[Outcome]], weights: Mapping[str, float], now: dt.datetime
) -> list[verdict.Arm]:
    """Arms in the order of ``groups`` (control first), with daily cumulative counts over
    the days since the first entry of any arm."""
    starts = [o.entry.entered_at for g in groups.values() for o in g]
    looks = _look_times(min(starts), now) if starts else []
    return [_arm(name, weights[name], group, looks) for name, group in groups.items()]


def _arm(name: str, weight: float, group: list[Outcome], looks: list[dt.datetime]) -> verdict.Arm:
    entered = sorted(o.entry.entered_at for o in group)
    converted = sorted(o.converted_at for o in group if o.converted_at is not None)
    daily = tuple(
        (bisect.bisect_right(entered, t), bisect.bisect_right(converted, t)) for t in looks
    )
    revenue = Moments.from_sums(
        len(group), sum(o.revenue for o in group), sum(o.revenue**2 for o in group)
    )
    return verdict.Arm(name, weight, len(group), len(converted), revenue, daily)


def _look_times(start: dt.datetime, now: dt.datetime) -> list[dt.datetime]:
    """The end of each day from ``start``'s to ``now`` (the last look at ``now``)."""
    day = dt.datetime.combine(start.date(), dt.time(), start.tzinfo) + dt.timedelta(days=1)
    looks = []
    while day < now:
        looks.append(day)
        day += dt.timedelta(days=1)
    return [*looks, now]


def _per_day(mine: list[Outcome], now: dt.datetime) -> float | None:
    first = min(o.entry.entered_at for o in mine)
    days = (now - first).total_seconds() / 86400
    return len(mine) / days if days >= 1 else None


@dataclass(frozen=True, slots=True)
class Report:
    """The KPIs of every journey and the result of every experiment."""

    kpis: dict[str, JourneyKpis]
    experiments: list[verdict.Result]

    def kpi_rows(self) -> list[dict[str, Any]]:
        """One flat row per journey and arm (for CSV)."""
        return [
            {"journey_id": j.journey_id, "arm": arm, **tally.to_json()}
            for j in self.kpis.values()
            for arm, tally in j.arms.items()
        ]

    def experiment_rows(self) -> list[dict[str, Any]]:
        """One flat row per experiment and arm compared with its control (for CSV)."""
        return [_experiment_row(r, arm) for r in self.experiments for arm in r.arms]


def _experiment_row(r: verdict.Result, arm: verdict.Arm) -> dict[str, Any]:
    c = r.comparisons[arm.name]
    conv, chance = c.get("conversion", {}), c.get("bayes", {})
    revenue = c.get("revenue_per_profile", {})
    return {
        "experiment": r.experiment,
        "arm": arm.name,
        "control": r.control.name,
        "profiles": arm.profiles,
        "control_profiles": r.control.profiles,
        "conversion_rate": arm.rate,
        "control_conversion_rate": r.control.rate,
        **{f"conversion_{k}": v for k, v in conv.items() if k not in ("control", "treatment")},
        "chance_to_beat_control": chance.get("chance_to_beat_control"),
        "expected_loss": chance.get("expected_loss_treatment"),
        "sequential_p_value": c.get("sequential", {}).get("p_value"),
        "revenue_per_profile_difference": revenue.get("difference"),
        "revenue_per_profile_p_value": revenue.get("p_value"),
        "sample_ratio_p_value": r.sample_ratio.p_value,
        "decision": r.decision.action,
        "why": r.decision.why,
    }


def report(
    rows: MeasureRows,
    orders: Iterable[OrderHistory],
    specs: Mapping[str, s.JourneySpec],
    now: dt.datetime,
    *,
    window: dt.timedelta = dt.timedelta(days=7),
    smallest_lift: float = 0.1,
) -> Report:
    """KPIs and experiments from the stored rows, orders and journey definitions."""
    found = outcomes(rows, orders, window)
    return Report(kpis(rows, found), experiments(specs, found, now, smallest_lift=smallest_lift))
