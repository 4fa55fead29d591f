"""Docstring examples are tests too: every module of the package is searched for them, so an
example written anywhere is run."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import juncture

# Not importable as a library: running ``python -m juncture`` runs the command, and Alembic's
# environment and revisions run only inside a migration.
SKIP = ("juncture.__main__", "juncture.store.migrations")


def modules() -> list[str]:
    found = pkgutil.walk_packages(juncture.__path__, prefix="juncture.", onerror=_fail)
    names = [m.name for m in found]
    return sorted(n for n in names if not any(n == s or n.startswith(s + ".") for s in SKIP))


def _fail(name: str) -> None:
    raise ImportError(f"{name} cannot be imported to look for examples")


@pytest.mark.parametrize("name", modules())
def test_doctests(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.failed == 0


def test_the_search_finds_the_examples() -> None:
    """The walk reaches the modules known to hold examples, below packages too."""
    known = {"juncture.core.messages", "juncture.core.journeys.dates", "juncture.sim.live"}
    assert known <= set(modules())
