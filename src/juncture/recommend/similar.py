"""Similar products by their text: TF-IDF (scikit-learn) over each product's title, brand,
category path, description and spec sheet, compared by cosine similarity.

The reason names the words the two products share that weigh most.

>>> from juncture.recommend.interactions import Item
>>> items = [Item("k1", "Steel kettle 2200W"), Item("k2", "Glass kettle 2200W"),
...          Item("t1", "Cotton towel")]
>>> [(other, words) for other, _, words in Similar(items).like("k1", 2)]
[('k2', ('2200w', 'kettle'))]
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np

from juncture.recommend import embeddings
from juncture.recommend.interactions import Item
from juncture.recommend.memo import memo_of

SHARED: Final = 2  # shared words named in a reason
_KEPT: Final = 256  # similar products kept per product


class Similar:
    """The TF-IDF matrix of a set of products (rows L2-normalised: a dot is a cosine); with
    ``by`` :data:`~juncture.recommend.embeddings.EMBEDDINGS`, products are ranked by their
    sentence embeddings instead (:mod:`juncture.recommend.embeddings`), and TF-IDF gives
    only the reason's words."""

    def __init__(self, items: Sequence[Item], by: str = embeddings.TFIDF) -> None:
        self.ids = [item.id for item in items]
        texts = [item.text for item in items]
        self.vectors = embeddings.embed(texts) if by == embeddings.EMBEDDINGS else None
        self.index = {item: n for n, item in enumerate(self.ids)}
        # imported here: scikit-learn takes a second to import, paid only by a training
        from sklearn.feature_extraction.text import TfidfVectorizer  # noqa: PLC0415

        self.vectorizer = TfidfVectorizer(sublinear_tf=True, stop_words="english")
        if any(t.strip() for t in texts):
            try:
                self.matrix = self.vectorizer.fit_transform(texts).tocsr()
            except ValueError:  # every word a stop word: nothing to compare by
                self.matrix = None
        else:
            self.matrix = None
        self.words = (
            self.vectorizer.get_feature_names_out() if self.matrix is not None else np.array([])
        )

    def like(self, item: str, n: int) -> list[tuple[str, float, tuple[str, ...]]]:
        """The ``n`` products most like ``item``: ``(product, cosine, shared words)``."""
        return [(p, score, self.shared(item, p)) for p, score in self.nearest(item, n)]

    def nearest(self, item: str, n: int) -> list[tuple[str, float]]:
        """The ``n`` products most like ``item``, with their cosine (no words: cheaper);
        kept per product (the matrix is fixed once trained), ties by catalogue order."""
        kept = max(n, _KEPT)
        return memo_of(self).get(("nearest", item, kept), lambda: self._nearest(item, kept))[:n]

    def _nearest(self, item: str, n: int) -> list[tuple[str, float]]:
        row = self.index.get(item)
        vectors = getattr(self, "vectors", None)  # models saved before the option have none
        if row is None or (self.matrix is None and vectors is None):
            return []
        if vectors is not None:
            scores = vectors @ vectors[row]
        else:
            assert self.matrix is not None
            scores = np.asarray((self.matrix @ self.matrix[row].T).todense()).ravel()
        scores[row] = 0.0
        count = min(n, int(np.count_nonzero(scores > 0)))
        if count == 0:
            return []
        top = np.argsort(-scores, kind="stable")[:count]
        return [(self.ids[j], float(scores[j])) for j in top]

    def shared(self, item: str, other: str) -> tuple[str, ...]:
        """The words of both products that weigh most in both (kept, like the neighbours:
        fixed until the next training)."""
        return memo_of(self).get(("shared", item, other), lambda: self._shared(item, other))

    def _shared(self, item: str, other: str) -> tuple[str, ...]:
        """:meth:`shared`, read off the CSR arrays: slicing a sparse row per candidate costs
        more than the whole search."""
        m = self.matrix
        if m is None or item not in self.index or other not in self.index:
            return ()
        a, b = self.index[item], self.index[other]
        ra, rb = slice(m.indptr[a], m.indptr[a + 1]), slice(m.indptr[b], m.indptr[b + 1])
        both, ia, ib = np.intersect1d(
            m.indices[ra], m.indices[rb], assume_unique=True, return_indices=True
        )
        weight = m.data[ra][ia] * m.data[rb][ib]
        order = np.argsort(-weight, kind="stable")[:SHARED]
        return tuple(sorted(str(self.words[both[k]]) for k in order))
