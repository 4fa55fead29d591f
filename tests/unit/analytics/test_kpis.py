"""The KPI rates and the journeys' incremental figures against hand-worked values and
independent implementations (statsmodels, scipy) on fixed inputs."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.proportion import confint_proportions_2indep

from juncture.analytics import funnels, kpis
from juncture.runtime.measurement import to_csv


def arm(revenues: np.ndarray, converted: int) -> dict[str, float | int]:
    return {
        "profiles": len(revenues), "converted": converted,
        "revenue": float(revenues.sum()), "revenue_squares": float((revenues**2).sum()),
    }  # fmt: skip


def test_incremental_figures_agree_with_statsmodels_and_scipy() -> None:
    rng = np.random.default_rng(7)
    t = rng.gamma(2.0, 30.0, 900) * (rng.random(900) < 0.3)
    h = rng.gamma(2.0, 30.0, 100) * (rng.random(100) < 0.2)
    ct, ch = int((t > 0).sum()), int((h > 0).sum())
    found = kpis.incremental(arm(t, ct), arm(h, ch))
    n = len(t)
    low, high = confint_proportions_2indep(ct, n, ch, len(h), method="agresti-caffo")
    assert found["incremental_conversions"] == pytest.approx((ct / n - ch / len(h)) * n, abs=0.01)
    assert found["incremental_conversions_low"] == pytest.approx(low * n, abs=0.01)
    assert found["incremental_conversions_high"] == pytest.approx(high * n, abs=0.01)
    welch = stats.ttest_ind(t, h, equal_var=False).confidence_interval()
    assert found["incremental_revenue"] == pytest.approx((t.mean() - h.mean()) * n, abs=0.01)
    assert found["incremental_revenue_low"] == pytest.approx(welch.low * n, abs=0.01)
    assert found["incremental_revenue_high"] == pytest.approx(welch.high * n, abs=0.01)


def test_entries_put_the_incremental_figures_on_the_treatments_row_only() -> None:
    common = {"journey_id": "j", "period": "all", "goal_reached": 1, "orders": 2}
    rows = kpis.entries([
        {**common, "arm": "treatment", "profiles": 10, "converted": 4, "revenue": 80.0,
         "revenue_squares": 2000.0},
        {**common, "arm": "holdout", "profiles": 5, "converted": 1, "revenue": 10.0,
         "revenue_squares": 100.0},
    ])  # fmt: skip
    treatment, holdout = rows
    assert treatment["incremental_conversions"] == pytest.approx((0.4 - 0.2) * 10)
    assert "incremental_conversions" not in holdout
    assert (treatment["aov"], treatment["conversion_rate"]) == (40.0, 0.4)
    (alone,) = kpis.entries([{**common, "arm": "treatment", "profiles": 0, "converted": 0,
                              "revenue": 0.0, "revenue_squares": 0.0}])  # fmt: skip
    assert alone["conversion_rate"] is None and "incremental_revenue" not in alone


def test_rates_of_carts_and_messages() -> None:
    counts = {"cart_abandoned": 6, "cart_recovered": 2, "checkout_abandoned": 2,
              "checkout_recovered": 1, "checkouts_started": 5, "orders": 8}  # fmt: skip
    (cart,) = kpis.carts([counts])
    assert cart["cart_abandonment_rate"] == 0.5  # 8 abandoned of 16 carts ended
    assert cart["checkout_abandonment_rate"] == 0.2  # 2 of 10 checkouts ended
    assert (cart["cart_recovery_rate"], cart["checkout_recovery_rate"]) == (0.333333, 0.5)
    (sent,) = kpis.messages([{"delivered": 8, "failed": 2, "opened": 4, "clicked": 1,
                              "unsubscribed": 1, "profiles_delivered": 5}])  # fmt: skip
    assert (sent["delivery_rate"], sent["open_rate"], sent["click_rate"]) == (0.8, 0.5, 0.125)
    assert sent["unsubscribe_rate"] == 0.2


def test_funnel_rates_and_rare_events_grouped() -> None:
    steps = funnels.funnel(["a", "b", "c"], [{"step": 1, "profiles": 10},
                                             {"step": 2, "profiles": 4},
                                             {"step": 3, "profiles": 1}])  # fmt: skip
    assert [s["dropped"] for s in steps] == [None, 6, 3]
    assert [s["conversion_from_first"] for s in steps] == [1.0, 0.4, 0.1]
    paths = [{"steps": ["x", "y"], "profiles": 5, "reached": True, "longer": False},
             {"steps": ["z", "y"], "profiles": 1, "reached": True, "longer": False}]  # fmt: skip
    drawn = funnels.sankey("a", 8, paths, min_profiles=2)
    assert [(p["steps"], p["profiles"]) for p in drawn["paths"]] == [
        (["x", "y"], 5),
        ([], 2),
        (["(other)", "y"], 1),
    ]
    links = {(x["source"], x["target"]): x["profiles"] for x in drawn["links"]}
    assert links == {("0:a", "1:x"): 5, ("1:x", "2:y"): 5, ("0:a", "1:(exit)"): 2,
                     ("0:a", "1:(other)"): 1, ("1:(other)", "2:y"): 1}  # fmt: skip


def test_csv_spreads_nested_objects_into_columns() -> None:
    text = to_csv([{"node": "a", "by": {"x": 1}}, {"node": "b", "by": {"y": 2}}])
    assert text.splitlines() == ["node,by.x,by.y", "a,1,", "b,,2"]
