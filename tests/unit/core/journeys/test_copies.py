"""copier: dataclasses.replace at less cost, for the dataclasses journeys copy on each step."""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from juncture.core.journeys import outgoing
from juncture.core.journeys.copies import copier

T0 = dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
MESSAGE = outgoing.Message("k1", "p1", "email", "marketing", T0, {"email": "a@example.com"})


def test_a_message_decided_is_what_replace_gives() -> None:
    changes: dict[str, Any] = {"status": "deferred", "reason": "quiet_hours", "next_attempt_at": T0}
    assert outgoing.changed(MESSAGE, **changes) == dataclasses.replace(MESSAGE, **changes)
    assert MESSAGE.status == "pending"


def test_a_name_that_is_no_field_is_refused() -> None:
    with pytest.raises(KeyError):
        outgoing.changed(MESSAGE, state="sent")


def test_a_dataclass_with_fields_outside_init_is_refused() -> None:
    @dataclasses.dataclass(frozen=True)
    class Derived:
        x: int
        double: int = dataclasses.field(init=False, default=0)

    with pytest.raises(TypeError, match="outside __init__"):
        copier(Derived)
