"""The import-linter contract that keeps SQLAlchemy inside ``juncture.store`` names every
other top-level module, so that a new package is covered from its first commit."""

from __future__ import annotations

import pkgutil
import tomllib
from pathlib import Path
from typing import Any

import juncture

PYPROJECT = Path(__file__).parents[2] / "pyproject.toml"


def contract(forbidden: str) -> dict[str, Any]:
    config = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))
    contracts: list[dict[str, Any]] = config["tool"]["importlinter"]["contracts"]
    return next(c for c in contracts if c.get("forbidden_modules") == [forbidden])


def test_every_module_but_the_store_is_forbidden_sqlalchemy() -> None:
    found = contract("sqlalchemy")
    every = {f"juncture.{m.name}" for m in pkgutil.iter_modules(juncture.__path__)}
    assert set(found["source_modules"]) == every - {"juncture.store"}
    assert found["type"] == "forbidden"
    assert found["allow_indirect_imports"] is True
