"""The recommendation libraries' preload: pending from its start until every import is done
(so ``/readyz`` waits for it), never pending when not started, done even when an import
fails (the failure is then the training's to report)."""

from __future__ import annotations

import importlib
import threading

import pytest

from juncture.runtime.preload import Preload


def test_pending_until_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    gate, seen = threading.Event(), []

    def slow_import(name: str) -> None:
        gate.wait(5)
        seen.append(name)

    monkeypatch.setattr(importlib, "import_module", slow_import)
    found = Preload(("one", "two"))
    assert not found.pending  # not started: a server that never preloads is ready
    found.start()
    assert found.pending
    gate.set()
    assert found._done.wait(5)
    assert not found.pending
    assert seen == ["one", "two"]


def test_a_failed_import_ends_the_wait() -> None:
    found = Preload(("juncture_no_such_module",))
    found.start()
    assert found._done.wait(5)
    assert not found.pending
