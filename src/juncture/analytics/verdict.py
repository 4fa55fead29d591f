"""An experiment's result and the decision a reader should take, with the reason.

:func:`judge` compares each arm with the control on conversion (the two-proportion test, the
Bayesian chance to beat control and expected loss, the always-valid sequential test over
daily looks) and on revenue per profile (Welch), checks the sample ratio, plans the size
needed to find the smallest lift worth finding, and answers one decision:

1. ``investigate``: the arms' sizes do not match the split (sample ratio mismatch, p under
   0.001); no other figure can be trusted until the assignment is fixed.
2. ``keep running`` while there is too little data to say anything (under 100 profiles in an
   arm or 20 conversions in all).
3. ``ship`` / ``stop``: the always-valid test rejects no difference (safe however often the
   result was looked at) and the arm converts better (``ship`` it, or keep the journey over
   its holdout) or worse (``stop`` it).
4. ``no effect``: the planned size for the smallest lift worth finding is reached and the
   fixed-horizon test finds nothing: the effect, if any, is smaller than that lift.
5. ``keep running`` otherwise, with the profiles and days still needed.

Pure; no I/O.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from juncture.analytics import bayes, experiments, planning, sequential

MIN_PROFILES = 100
MIN_CONVERSIONS = 20


@dataclass(frozen=True, slots=True)
class Arm:
    """One arm: its name, intended weight, profiles, conversions, revenue moments and its
    cumulative daily counts (profiles, conversions) for the sequential test."""

    name: str
    weight: float
    profiles: int
    converted: int
    revenue: experiments.Moments
    daily: tuple[tuple[int, int], ...] = ()

    @property
    def rate(self) -> float:
        return self.converted / self.profiles if self.profiles else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "arm": self.name,
            "weight": self.weight,
            "profiles": self.profiles,
            "converted": self.converted,
            "conversion_rate": self.rate,
            "revenue": self.revenue.mean * self.revenue.n,
            "revenue_per_profile": self.revenue.mean,
        }


@dataclass(frozen=True, slots=True)
class Decision:
    action: str
    why: str

    def to_json(self) -> dict[str, str]:
        return {"action": self.action, "why": self.why}


@dataclass(frozen=True, slots=True)
class Result:
    """The experiment's figures and its decision (see the module docstring)."""

    experiment: str
    control: Arm
    arms: tuple[Arm, ...]
    comparisons: dict[str, dict[str, Any]]
    sample_ratio: experiments.SampleRatio
    plan: planning.Plan | None
    decision: Decision

    def to_json(self) -> dict[str, Any]:
        return {
            "experiment": self.experiment,
            "control": self.control.name,
            "arms": [a.to_json() for a in (self.control, *self.arms)],
            "comparisons": self.comparisons,
            "sample_ratio": self.sample_ratio.to_json(),
            "plan": self.plan.to_json() if self.plan else None,
            "decision": self.decision.to_json(),
        }


def judge(
    experiment: str,
    control: Arm,
    arms: Sequence[Arm],
    *,
    alpha: float = 0.05,
    smallest_lift: float = 0.1,
    per_day: float | None = None,
) -> Result:
    """The result of ``arms`` against ``control``; ``smallest_lift`` is the relative lift in
    conversion worth finding (0.1: a tenth more), ``per_day`` the profiles entering a day."""
    ratio = sample_ratio([control, *arms])
    comparisons = {a.name: _compare(a, control, alpha, smallest_lift) for a in arms}
    plan = _plan(control, arms, alpha, smallest_lift, per_day)
    decision = _decide(control, arms, comparisons, ratio, plan)
    return Result(experiment, control, tuple(arms), comparisons, ratio, plan, decision)


def sample_ratio(arms: Sequence[Arm]) -> experiments.SampleRatio:
    return experiments.sample_ratio([a.profiles for a in arms], [a.weight for a in arms])


def _compare(arm: Arm, control: Arm, alpha: float, smallest_lift: float) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if arm.profiles and control.profiles:
        out["conversion"] = experiments.two_proportions(
            arm.converted, arm.profiles, control.converted, control.profiles, alpha
        ).to_json()
        out["bayes"] = bayes.proportions(
            arm.converted, arm.profiles, control.converted, control.profiles
        ).to_json()
        out["sequential"] = _sequential(arm, control, alpha, smallest_lift).to_json()
    if arm.revenue.n > 1 and control.revenue.n > 1:
        out["revenue_per_profile"] = experiments.welch(
            arm.revenue, control.revenue, alpha
        ).to_json()
    return out


def _sequential(
    arm: Arm, control: Arm, alpha: float, smallest_lift: float
) -> sequential.AlwaysValid:
    """The mixture SPRT over the daily looks, tuned to the smallest lift worth finding on the
    pooled rate (``tau`` is that lift in rate points)."""
    pooled = (arm.converted + control.converted) / (arm.profiles + control.profiles)
    tau2 = max(smallest_lift * pooled, 1e-4) ** 2
    looks = [_look(t, c) for t, c in zip(arm.daily, control.daily, strict=False)]
    if not looks:
        looks = [_look((arm.profiles, arm.converted), (control.profiles, control.converted))]
    return sequential.monitor(looks, tau2, alpha)


def _look(t: tuple[int, int], c: tuple[int, int]) -> sequential.Look:
    if not t[0] or not c[0]:
        return sequential.Look(0.0, 0.0)
    rt, rc = t[1] / t[0], c[1] / c[0]
    return sequential.Look(rt - rc, rt * (1 - rt) / t[0] + rc * (1 - rc) / c[0])


def _plan(
    control: Arm, arms: Sequence[Arm], alpha: float, smallest_lift: float, per_day: float | None
) -> planning.Plan | None:
    if not arms or not 0 < control.rate < 1 or control.rate * (1 + smallest_lift) >= 1:
        return None
    ratio = arms[0].weight / control.weight if control.weight else 1.0
    return planning.for_proportions(
        control.rate, smallest_lift, ratio=ratio, alpha=alpha, per_day=per_day
    )


def _decide(
    control: Arm,
    arms: Sequence[Arm],
    comparisons: dict[str, dict[str, Any]],
    ratio: experiments.SampleRatio,
    plan: planning.Plan | None,
) -> Decision:
    if ratio.mismatch:
        return Decision("investigate", (
            f"the arms' sizes {list(ratio.observed)} do not match the split "
            f"(expected {[round(e) for e in ratio.expected]}, chi-square p={ratio.p_value:.2g}): "
            "the assignment is broken, so no other figure can be trusted until it is fixed"
        ))  # fmt: skip
    total = control.converted + sum(a.converted for a in arms)
    smallest = min((a.profiles for a in (control, *arms)), default=0)
    if smallest < MIN_PROFILES or total < MIN_CONVERSIONS:
        return Decision("keep running", (
            f"too little data: {smallest} profiles in the smallest arm and {total} conversions "
            f"in all (at least {MIN_PROFILES} and {MIN_CONVERSIONS} before reading anything)"
        ))  # fmt: skip
    found = _winner(control, arms, comparisons)
    if found is not None:
        return found
    if plan is not None and control.profiles >= plan.control:
        return Decision("no effect", (
            f"the planned {plan.control} profiles in {control.name} are reached and no arm "
            "differs: any effect is smaller than the smallest lift worth finding; keep the "
            "cheaper option"
        ))  # fmt: skip
    return Decision("keep running", _remaining(control, plan))


def _winner(
    control: Arm, arms: Sequence[Arm], comparisons: dict[str, dict[str, Any]]
) -> Decision | None:
    """``ship`` the best arm the always-valid test says beats control, else ``stop`` one it
    says is worse; None when it says neither."""
    better = [
        (c["conversion"]["difference"], a, c)
        for a in arms
        if (c := comparisons[a.name]).get("sequential", {}).get("p_value", 1.0) < 0.05
    ]
    if not better:
        return None
    diff, arm, c = max(better, key=lambda b: b[0])
    conv, chance = c["conversion"], c["bayes"]["chance_to_beat_control"]
    lift = f"{100 * diff:+.2f} points ({_relative(conv['relative'])})"
    interval = (
        f"95% interval {100 * conv['difference_low']:+.2f} to {100 * conv['difference_high']:+.2f}"
    )
    if diff > 0:
        return Decision("ship", (
            f"{arm.name} converts {lift} over {control.name}, {interval}; always-valid "
            f"p={c['sequential']['p_value']:.2g}, chance to beat {control.name} {100 * chance:.1f}%"
        ))  # fmt: skip
    return Decision("stop", (
        f"{arm.name} converts {lift} against {control.name}, {interval}; always-valid "
        f"p={c['sequential']['p_value']:.2g}: it does harm"
    ))  # fmt: skip


def _relative(value: float | None) -> str:
    return "relative lift unknown" if value is None else f"{100 * value:+.1f}%"


def _remaining(control: Arm, plan: planning.Plan | None) -> str:
    if plan is None:
        return "no arm differs yet; the control's rate gives no plan (no conversions yet)"
    missing = max(plan.control - control.profiles, 0)
    days = (
        f", about {math.ceil(plan.days * missing / plan.control)} more days"
        if plan.days and plan.control
        else ""
    )
    return (
        f"no arm differs yet; {plan.control} profiles in {control.name} find the smallest lift "
        f"worth finding with 80% power, {missing} more are needed{days}"
    )
