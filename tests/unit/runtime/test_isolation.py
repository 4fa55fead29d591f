"""isolation.halve: the one way a failing run of events is taken apart (committer, workers)."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from juncture.errors import StoreUnavailable
from juncture.runtime import isolation


class Bad(Exception):
    pass


def run(items: list[int], poison: set[int]) -> tuple[list[list[int]], list[int], list[int]]:
    """(the runs applied, the items set aside, the sizes of the runs halved)."""
    applied: list[list[int]] = []
    aside: list[int] = []
    halved: list[int] = []

    def apply(run: Sequence[int]) -> None:
        if poison & set(run):
            raise Bad(run)
        applied.append(list(run))

    isolation.halve(
        items,
        apply,
        lambda item, exc: aside.append(item),
        passes=(StoreUnavailable,),
        halving=lambda size, exc: halved.append(size),
    )
    return applied, aside, halved


def test_a_run_that_applies_is_one_call() -> None:
    assert run([1, 2, 3, 4], set()) == ([[1, 2, 3, 4]], [], [])


def test_one_bad_item_is_set_aside_and_the_rest_applied_in_order() -> None:
    applied, aside, halved = run([1, 2, 3, 4, 5, 6, 7, 8], {6})
    assert applied == [[1, 2, 3, 4], [5], [7, 8]]
    assert aside == [6]
    assert halved == [8, 4, 2]


def test_every_bad_item_is_set_aside() -> None:
    applied, aside, _ = run([1, 2, 3], {1, 3})
    assert [i for r in applied for i in r] == [2]
    assert aside == [1, 3]


def test_the_stores_failure_goes_to_the_caller() -> None:
    def apply(run: Sequence[int]) -> None:
        raise StoreUnavailable("down")

    with pytest.raises(StoreUnavailable):
        isolation.halve([1, 2], apply, lambda item, exc: None, passes=(StoreUnavailable,))


def test_nothing_to_apply_calls_nothing() -> None:
    assert run([], {1}) == ([], [], [])
