"""Fixtures of the end-to-end tests that drive the shipped journeys through Segment's client.

``shop`` here is the real server with the cart-abandonment and post-purchase journeys, an
SMTP server and a Segment client on the shop's manual clock; a module that needs other
journeys or settings defines a ``shop`` of its own."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from segment.analytics import client as segment_client
from segment.analytics import request as segment_request

from tests.e2e.test_library_segment_client import LIBRARY, DeviceClock, Shop

MAIL_JOURNEYS = ["cart_abandonment", "post_purchase"]


@pytest.fixture
def segment_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """Segment's client stamps its events by the shop's manual clock (:class:`DeviceClock`)."""
    monkeypatch.setattr(segment_client, "datetime", DeviceClock)
    monkeypatch.setattr(segment_request, "datetime", DeviceClock)


@pytest.fixture
def shop(database_url: str, segment_clock: None) -> Iterator[Shop]:
    s = Shop(database_url, [LIBRARY[j] for j in MAIL_JOURNEYS])
    yield s
    s.close()
