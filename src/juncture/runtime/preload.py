"""Libraries that only a measurement, a recommendation training or a saved model uses
(scipy's statistics, scipy.sparse, scikit-learn, implicit, joblib) take seconds to import,
more on a loaded machine. The server imports none of them to start; building the app
imports them on a thread of its own, and ``/readyz`` answers 503 until they are in, so that
a load balancer (or a test) sends no request that would wait on the import: the first
answer that trains the recommendations, or the first measurement, would otherwise pay it,
past a client's timeout.
"""

from __future__ import annotations

import importlib
import logging
import threading
from typing import Final

LIBRARIES: Final = (
    "scipy.stats", "scipy.sparse", "sklearn.feature_extraction.text", "implicit.cpu.als",
    "joblib",
)  # fmt: skip
log = logging.getLogger(__name__)


class Preload:
    """Imports :data:`LIBRARIES` once :meth:`start` is called; :attr:`pending` until done."""

    def __init__(self, libraries: tuple[str, ...] = LIBRARIES) -> None:
        self.libraries = libraries
        self._started = False
        self._done = threading.Event()

    @property
    def pending(self) -> bool:
        """Started and not yet done (never started: nothing pending)."""
        return self._started and not self._done.is_set()

    def start(self) -> None:
        """Start the imports (once: a second call does nothing)."""
        if self._started:
            return
        self._started = True
        threading.Thread(target=self._run, name="juncture-preload", daemon=True).start()

    def _run(self) -> None:
        try:
            for name in self.libraries:
                importlib.import_module(name)
        except ImportError:  # a missing optional library fails where it is used, with its name
            log.exception("preload: a library could not be imported")
        finally:
            self._done.set()
