"""Answers of a trained model kept by their question: a model's answer to the same question
is the same until it learns, so serving need not work it out again.

>>> class Model:
...     pass
>>> m = Model()
>>> calls = []
>>> memo_of(m).get("q", lambda: calls.append(1) or "a"), memo_of(m).get("q", lambda: "b")
('a', 'a')
>>> memo_of(m).clear(); memo_of(m).get("q", lambda: "b")
'b'
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any, Final, TypeVar

MOST: Final = 20_000  # answers kept per model; past it, all are forgotten at once
V = TypeVar("V")
_NONE: Final = object()
_ATTRIBUTE: Final = "_answers"


class Memo:
    """At most ``most`` answers by question (a model's own; cleared when it learns)."""

    def __init__(self, most: int = MOST) -> None:
        self.most = most
        self.found: dict[Hashable, Any] = {}

    def get(self, key: Hashable, compute: Callable[[], V]) -> V:
        found = self.found.get(key, _NONE)
        if found is _NONE:
            if len(self.found) >= self.most:
                self.found = {}
            found = self.found[key] = compute()
        return found  # type: ignore[no-any-return]

    def clear(self) -> None:
        self.found = {}


def memo_of(model: object) -> Memo:
    """``model``'s memo, made at first use (models saved before memos existed have none)."""
    memo = getattr(model, _ATTRIBUTE, None)
    if not isinstance(memo, Memo):
        memo = Memo()
        setattr(model, _ATTRIBUTE, memo)
    return memo
