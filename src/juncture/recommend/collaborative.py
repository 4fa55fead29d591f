"""People like you: collaborative filtering on implicit feedback with ``implicit``'s
alternating least squares.

Training builds the shoppers-by-products matrix of summed interaction weights (a view 1, a
cart add 3, an order 5; :data:`~juncture.recommend.interactions.WEIGHTS`), damped by
``log1p`` so one shopper's hundred views do not drown everyone else, and factorises it.
Answering folds the shopper's *current* history in (``recalculate_user``: their vector is
solved again from the products given, with the item factors fixed), so a product viewed a
second ago changes the answer between trainings, and a shopper unseen at training is
answered too. The reason names the product of their history whose factors lie closest to
the one recommended.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import numpy as np

from juncture.recommend.interactions import Interaction
from juncture.recommend.memo import memo_of

if TYPE_CHECKING:
    import scipy.sparse as sp


@dataclass(frozen=True, slots=True)
class Factors:
    """How the factorisation is trained: latent factors, regularisation, sweeps, the
    confidence scale ``alpha`` and the seed (training is deterministic for one seed)."""

    factors: int = 32
    regularization: float = 1.0
    iterations: int = 15
    alpha: float = 10.0
    seed: int = 7


DEFAULT: Final = Factors()


class PeopleLikeYou:
    """An ALS model over the products seen at training."""

    def __init__(self, interactions: Iterable[Interaction], factors: Factors = DEFAULT) -> None:
        totals: dict[tuple[str, str], float] = {}
        for i in interactions:
            totals[(i.user, i.item)] = totals.get((i.user, i.item), 0.0) + i.weight
        users = sorted({u for u, _ in totals})
        self.items = sorted({i for _, i in totals})
        self.index = {item: n for n, item in enumerate(self.items)}
        self.model: Any = None  # implicit's AlternatingLeastSquares, once trained
        if not totals:
            return
        user_at = {u: n for n, u in enumerate(users)}
        rows = [user_at[u] for u, _ in totals]
        cols = [self.index[i] for _, i in totals]
        values = np.log1p(np.fromiter(totals.values(), dtype=np.float32))
        import scipy.sparse as sp  # noqa: PLC0415 - seconds to import, paid by a model in use

        matrix = sp.csr_matrix((values, (rows, cols)), shape=(len(users), len(self.items)))
        # imported here: implicit takes a while to import, paid only by a training
        from implicit.cpu.als import AlternatingLeastSquares  # noqa: PLC0415
        from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]  # noqa: PLC0415

        # implicit wants BLAS single-threaded (it warns otherwise): its own loop is parallel
        with threadpool_limits(1, "blas"):
            model = AlternatingLeastSquares(
                factors=factors.factors,
                regularization=factors.regularization,
                iterations=factors.iterations,
                alpha=factors.alpha,
                random_state=factors.seed,
                num_threads=1,
            )
            model.fit(matrix, show_progress=False)
        self.model = model

    def row(self, history: Mapping[str, float]) -> sp.csr_matrix:
        """One shopper's history (product to summed weight) as the model's input row."""
        known = [(self.index[i], w) for i, w in history.items() if i in self.index and w > 0]
        cols = [c for c, _ in known]
        values = np.log1p(np.array([w for _, w in known], dtype=np.float32))
        import scipy.sparse as sp  # noqa: PLC0415 - seconds to import, paid by a model in use

        return sp.csr_matrix((values, ([0] * len(cols), cols)), shape=(1, len(self.items)))

    def recommend(self, history: Mapping[str, float], n: int) -> list[tuple[str, float, str]]:
        """``(product, score, because)`` for a shopper with ``history`` (products they have
        already interacted with are left out); empty when none of it was seen at training.
        Kept by history and ``n`` (the factors are fixed once trained)."""
        key = ("recommend", n, *sorted(history.items()))
        return list(memo_of(self).get(key, lambda: self._recommend(history, n)))

    def _recommend(self, history: Mapping[str, float], n: int) -> list[tuple[str, float, str]]:
        row = self.row(history)
        if self.model is None or row.nnz == 0:
            return []
        n = min(n, len(self.items) - row.nnz)
        if n <= 0:
            return []
        ids, scores = self.model.recommend(
            0, row, N=n, recalculate_user=True, filter_already_liked_items=True
        )
        seen = row.indices
        vectors = self.model.item_factors
        found = []
        for item, score in zip(ids.tolist(), scores.tolist(), strict=True):
            closest = seen[int(np.argmax(vectors[seen] @ vectors[item]))]
            found.append((self.items[item], float(score), self.items[int(closest)]))
        return found
