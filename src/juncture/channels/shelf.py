"""The ``recommendations`` a template reads: a list of the default kind's products, and one
list per kind by name, each fetched only when the template reads it.

In Liquid, ``{% for item in recommendations limit: 4 %}`` lists the default kind and
``{% for item in recommendations.bought_together limit: 3 %}`` asks for a kind and a count;
``recommendations.similar.size`` says whether there is anything good to show. Without a
recommender (``fetch`` None) every list is empty. Each item is a mapping with
``product_id``, ``name``, ``price``, ``brand``, ``category``, ``kind``, ``reason`` and
``recommendation_id``.

>>> shelf = Shelf(lambda kind: [{"name": kind}])
>>> [i["name"] for i in shelf], shelf["similar"][0]["name"], len(Shelf())
(['default'], 'similar', 0)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Final

DEFAULT: Final = "default"
# Liquid's own properties of a list, never kinds
_LIST_WORDS: Final = frozenset({"size", "first", "last"})

Fetch = Callable[[str], list[dict[str, Any]]]


class Shelf(list[dict[str, Any]]):
    """A lazy list of recommended products (see the module's docstring)."""

    def __init__(self, fetch: Fetch | None = None) -> None:
        super().__init__()
        self._fetch = fetch
        self._kinds: dict[str, list[dict[str, Any]]] = {}

    def kind(self, name: str) -> list[dict[str, Any]]:
        if name not in self._kinds:
            self._kinds[name] = self._fetch(name) if self._fetch is not None else []
        return self._kinds[name]

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str) and key not in _LIST_WORDS:
            return self.kind(key)
        return self.kind(DEFAULT)[key]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.kind(DEFAULT))

    def __len__(self) -> int:
        return len(self.kind(DEFAULT))

    def __bool__(self) -> bool:
        return bool(self.kind(DEFAULT))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, list) and list(self) == list(other)

    __hash__ = None  # a list's: mutable, not hashable
