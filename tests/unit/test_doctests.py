"""Docstring examples are tests too."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "juncture.core.messages",
    "juncture.bench.journeys",
    "juncture.core.journeys.dates",
    "juncture.sim.live",
]


@pytest.mark.parametrize("name", MODULES)
def test_doctests(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0
    assert result.failed == 0
