"""The core's id bound is a copy of the store's id columns (the core cannot import the
store): the two must agree, or an accepted id could fail a commit."""

from __future__ import annotations

import pytest

from juncture.core import bounds
from juncture.store import tables


@pytest.mark.parametrize("column", ["message_id", "user_id", "anonymous_id", "event"])
def test_the_id_bound_is_the_event_log_column(column: str) -> None:
    assert tables.chars(tables.events, column) == bounds.MAX_ID


def test_ids_with_their_prefix_fit_the_identity_columns() -> None:
    longest = len("anonymous_id:") + bounds.MAX_ID
    assert tables.chars(tables.identities, "identifier") >= longest
