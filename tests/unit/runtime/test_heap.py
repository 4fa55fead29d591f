"""Start-up's objects are kept out of the cycle collector's later passes."""

from __future__ import annotations

import gc
import weakref

from juncture.runtime import heap


def test_settle_freezes_what_lives_and_collects_the_rest() -> None:
    class Node:
        def __init__(self) -> None:
            self.me = self  # a cycle: only the collector frees it

    kept = Node()
    garbage = weakref.ref(Node())  # unreachable before settling: collected, not frozen
    try:
        heap.settle()
        frozen = gc.get_freeze_count()
        assert frozen > 0
        assert all(o is not kept for o in gc.get_objects())  # no generation holds it
        assert garbage() is None
    finally:
        gc.unfreeze()
    assert any(o is kept for o in gc.get_objects())
