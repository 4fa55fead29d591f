"""Enrollments: the copy the machine makes at each node is ``dataclasses.replace``'s."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from juncture.core.journeys.state import Enrollment, Waiting, changed

T0 = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
BEFORE = Enrollment(
    id="e1",
    journey_id="cart",
    version=2,
    profile_id="p1",
    key="c1",
    node="wait",
    entered_at=T0,
    event={"name": "Product Added"},
    waiting=Waiting("e1:wait:2", T0 + dt.timedelta(hours=1)),
    history=(("added", "event"),),
)
OTHER: dict[str, Any] = {
    "id": "e2", "journey_id": "browse", "version": 3, "profile_id": "p2", "key": None,
    "node": "mail", "entered_at": T0 + dt.timedelta(days=1), "event": {"name": "Viewed"},
    "waiting": None, "goal_reached": True, "exited": True, "exit_reason": "goal",
    "exited_at": T0 + dt.timedelta(days=2), "history": (), "holdout": True,
}  # fmt: skip


def test_every_field_has_another_value_here() -> None:
    fields = {f.name for f in dataclasses.fields(Enrollment)}
    assert set(OTHER) == fields
    assert all(getattr(BEFORE, name) != value for name, value in OTHER.items())


@pytest.mark.parametrize("name", sorted(OTHER))
def test_changed_changes_one_field_as_replace_does(name: str) -> None:
    after = changed(BEFORE, **{name: OTHER[name]})
    assert after == dataclasses.replace(BEFORE, **{name: OTHER[name]})
    assert getattr(after, name) == OTHER[name]


def test_changed_changes_several_fields_and_leaves_the_original() -> None:
    after = changed(BEFORE, node="done", exited=True, waiting=None)
    assert after == dataclasses.replace(BEFORE, node="done", exited=True, waiting=None)
    assert BEFORE.node == "wait"
    assert not BEFORE.exited
