"""The process's heap once it has started: what start-up built (the modules, the composed
store, engine and definitions) lives as long as the process, so the cycle collector is told
to leave it out of its full collections (``gc.freeze``), which otherwise scan every object
again each time the engine's work has allocated enough. Measured in process with the shipped
segments: the collector's CPU fell from about 54 to 24 us per event (19 to 10 without them).
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Collect what start-up left behind, then keep every live object out of later
    collections. Call once, after the process has built what it runs."""
    gc.collect()
    gc.freeze()
