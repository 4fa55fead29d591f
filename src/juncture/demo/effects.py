"""Each journey's true effect in the demo, beside the lift measured against its holdout, and
every experiment's decision as ``juncture measure experiments`` takes it.

The simulator knows what no event says: what each customer would have done without a
journey's messages (:mod:`juncture.sim.counterfactual`). For every journey with a holdout,
the customers its messages reached are simulated again without those messages; the mean
difference in conversion (an order after entering, as the measured lift counts it) over the
treatment's entries is the effect the measured lift and its interval estimate. Over many
seeds the 95% intervals cover it about 95% of the time (``tests/unit/sim``).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping, Sequence
from typing import Any

from juncture import wiring
from juncture.analytics import journeys as journey_report
from juncture.runtime.measurement import Measurement
from juncture.sim import Simulation
from juncture.sim import counterfactual as cf
from juncture.sim.response import Delivery
from juncture.store.journey_report import ReportRows
from juncture.store.profiles import Identifier


def annotate(
    lifts: Mapping[str, dict[str, Any]],
    sim: Simulation,
    arrivals: Sequence[Delivery],
    rows: ReportRows,
    identifiers: Sequence[Identifier],
) -> None:
    """Add ``true_effect`` (and ``covered``: inside the measured 95% interval) to each row
    of the demo's ``lift`` section whose journey has a holdout."""
    index = cf.identities(sim.customers)
    owner = _owners(identifiers, rows.redirects, index)
    arms = journey_report.arms(rows.entries, rows.redirects)
    for journey, row in lifts.items():
        if row.get("ci95_low") is None:
            continue
        treatment: dict[str, list[dt.datetime]] = defaultdict(list)
        entries = arms[journey]["treatment"]
        for profile, at in entries.items():
            if profile in owner:
                treatment[owner[profile]].append(at)
        unknown = len(entries) - sum(map(len, treatment.values()))
        effect = cf.journey_effect(
            sim.config, arrivals, sim.ground_truth,
            journey=journey, treatment=treatment, index=index, unknown=unknown,
        )  # fmt: skip
        row["true_effect"] = effect.effect
        row["true_changed"] = effect.changed
        row["covered"] = row["ci95_low"] <= effect.effect <= row["ci95_high"]


def _owners(
    identifiers: Sequence[Identifier], redirects: dict[str, str], index: Mapping[str, str]
) -> dict[str, str]:
    """Profile (after merges) -> the simulated customer its identifiers name."""
    out: dict[str, str] = {}
    for identifier in identifiers:
        customer = index.get(identifier.value)
        if customer is not None:
            out.setdefault(journey_report.canonical(redirects, identifier.attached_to), customer)
    return out


def decisions(juncture: wiring.Juncture, now: dt.datetime) -> list[dict[str, Any]]:
    """Each experiment (holdouts, splits) with its arms' conversion and the decision to take
    and why, as ``juncture measure experiments`` gives them (order window 7 days)."""
    store = juncture.store
    measurement = Measurement(
        store.journeys, store.journey_measures, store.customer_orders, juncture.batch_run()
    )
    return [
        {
            "experiment": r.experiment,
            "arms": {a.name: {"profiles": a.profiles, "converted": a.converted}
                     for a in (r.control, *r.arms)},
            "sample_ratio_mismatch": r.sample_ratio.mismatch,
            **r.decision.to_json(),
        }
        for r in measurement.report(now).experiments
    ]  # fmt: skip
