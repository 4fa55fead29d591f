"""Whatever a client sends, its valid neighbours are stored and processed.

Hypothesis builds batches of Segment messages, from spec-compliant e-commerce events to
hostile values in every field (times of any year, numbers of any size, strings of any
length and character, nesting, wrong types), and sends each batch with a valid neighbour
through the real ingestion path into the engine, with the shipped journeys and segments
applied, on SQLite and PostgreSQL. Every message is accounted for (stored, a duplicate, or
quarantined with its reason) and the neighbour always comes out processed."""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Iterator
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from juncture import wiring
from juncture.cli.main import app
from juncture.core import messages
from tests.conftest import caught_up, settings_for

NOW = dt.datetime(2026, 12, 1, 12, tzinfo=dt.UTC)
_ids = itertools.count()

EVENTS = ["Product Viewed", "Product Added", "Cart Viewed", "Checkout Started",
          "Order Completed", "Product Removed", "Signed Up", "NPS Submitted"]  # fmt: skip
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=300),
    st.sampled_from(["0001-01-01", "9999-12-31T23:59:59Z", "2026-02-30", "1e308", "\x00"]),
)
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
times = st.one_of(
    st.datetimes(timezones=st.just(dt.UTC)).map(lambda t: t.isoformat()),
    st.just(NOW.isoformat()),
    scalars,
)
product = st.fixed_dictionaries(
    {"product_id": st.text(max_size=250), "price": scalars, "quantity": scalars},
    optional={"category": st.text(max_size=80), "sku": scalars},
)
properties = st.one_of(
    st.fixed_dictionaries(
        {"cart_id": st.text(max_size=250), "products": st.lists(product, max_size=3)},
        optional={"order_id": st.text(max_size=250), "total": scalars, "currency": scalars},
    ),
    st.dictionaries(st.text(max_size=12), values, max_size=4),
)
traits = st.dictionaries(
    st.sampled_from(
        [
            "email",
            "country",
            "city",
            "birthday",
            "replenish_at",
            "timezone",
            "consent",
            "address",
            "phone",
            "first_name",
        ]
    ),
    values,
    max_size=4,
)
message = st.fixed_dictionaries(
    {"type": st.sampled_from(["track", "identify", "page", "alias", "group", "screen"])},
    optional={
        "userId": st.one_of(st.text(max_size=220), scalars),
        "anonymousId": st.text(max_size=220),
        "event": st.one_of(st.sampled_from(EVENTS), st.text(max_size=220)),
        "timestamp": times,
        "sentAt": times,
        "properties": properties,
        "traits": traits,
        "context": st.dictionaries(
            st.sampled_from(["channel", "device", "page", "timezone"]), values
        ),
        "previousId": st.text(max_size=220),
    },
)


@pytest.fixture
def juncture(database_url: str) -> Iterator[wiring.Juncture]:
    for group in ("journeys", "segments"):
        result = CliRunner().invoke(
            app, [group, "apply", "--library", "--database-url", database_url]
        )
        assert result.exit_code == 0, result.output
    j = wiring.build(settings_for(database_url))
    yield j
    j.close()


def neighbour(n: int) -> dict[str, Any]:
    return {
        "type": "track",
        "userId": f"neighbour-{n}",
        "event": "Product Added",
        "messageId": f"neighbour-{n}",
        "timestamp": NOW.isoformat(),
        "properties": {"cart_id": f"cart-{n}", "product_id": "p1", "price": 20.0, "quantity": 1},
    }


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(batch=st.lists(message, min_size=1, max_size=6))
def test_valid_neighbours_are_always_stored_and_processed(
    juncture: wiring.Juncture, batch: list[dict[str, Any]]
) -> None:
    n = next(_ids)
    sent = [{**m, "messageId": f"m-{n}-{i}"} for i, m in enumerate(batch)]
    sent.insert(len(sent) // 2, neighbour(n))
    body = msgspec.json.encode({"batch": sent})
    outcome = juncture.ingestor.ingest_sync(messages.parse_batch(body), "web", NOW)
    receipt = outcome.receipt
    assert receipt.stored + receipt.duplicates + receipt.quarantined == len(sent)
    caught_up(juncture)  # processed: through the engine
    [stored] = juncture.store.events(user_id=f"neighbour-{n}", derived=False)
    assert stored.profile_id is not None
