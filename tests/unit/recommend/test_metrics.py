"""The ranking metrics against hand-computed cases and against scikit-learn's."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, ndcg_score

from juncture.recommend import metrics


def test_hand_computed() -> None:
    ranked = ["a", "b", "c", "d"]
    relevant = {"b", "d", "x"}
    # hits at positions 2 and 4: DCG = 1/log2(3) + 1/log2(5); ideal = 3 hits at 1..3
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)
    assert metrics.ndcg(ranked, relevant, 10) == pytest.approx(dcg / ideal)
    # precision 1/2 at 2, 2/4 at 4, over min(10, 3) relevant
    assert metrics.average_precision(ranked, relevant, 10) == pytest.approx((0.5 + 0.5) / 3)
    assert metrics.hit_rate(ranked, relevant, 1) == 0.0
    assert metrics.hit_rate(ranked, relevant, 2) == 1.0
    assert metrics.ndcg(ranked, set(), 10) == 0.0
    assert metrics.coverage([["a"], ["a", "b"]], 4) == 0.5


@pytest.mark.parametrize("seed", range(20))
def test_ndcg_and_ap_match_scikit_learn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 40))
    truth = (rng.random(n) < 0.3).astype(int)
    if truth.sum() == 0:
        truth[0] = 1
    scores = rng.permutation(n).astype(float)  # distinct: no ties to break
    ranked = [str(i) for i in np.argsort(-scores)]
    relevant = {str(i) for i in np.flatnonzero(truth)}
    for k in (1, 3, 10):
        assert metrics.ndcg(ranked, relevant, k) == pytest.approx(
            ndcg_score([truth], [scores], k=k)
        )
    # over the whole ranking, AP@n is scikit-learn's average precision
    assert metrics.average_precision(ranked, relevant, n) == pytest.approx(
        average_precision_score(truth, scores)
    )
