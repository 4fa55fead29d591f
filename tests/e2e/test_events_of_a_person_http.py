"""``GET /v1/events?userId=`` answers the person's derived events too: the engine stores a
segment entry or a timer's signal under the profile, without the user id the client sent."""

from __future__ import annotations

from typing import Any

import httpx
from segment.analytics.client import Client

from tests.conftest import ADMIN, WRITE_KEY, LiveServer

GOLD = "id: gold\nname: Gold members\nwhere: {trait: plan, eq: gold}\n"


def _events(live: LiveServer, **query: str) -> list[dict[str, Any]]:
    r = httpx.get(f"{live.url}/v1/events", params=query, headers=ADMIN)
    assert r.status_code == 200, r.text
    return list(r.json()["events"])


def test_derived_events_stored_without_the_user_id_are_answered_by_it(live: LiveServer) -> None:
    errors: list[Exception] = []
    client = Client(
        WRITE_KEY, host=live.url, sync_mode=True, on_error=lambda e, _b: errors.append(e)
    )
    client.identify("m-1", {"plan": "gold"}, anonymous_id="anon-m1")
    client.identify("m-2", {"plan": "silver"})
    client.flush()
    assert errors == []
    applied = httpx.post(f"{live.url}/v1/segments", json={"source": GOLD}, headers=ADMIN)
    assert applied.status_code == 201, applied.text

    everything = _events(live, userId="m-1")
    names = [e.get("event") or e["type"] for e in everything]
    assert names == ["identify", "Segment Entered"]
    entered = everything[1]
    assert "userId" not in entered  # stored under the profile only
    assert entered["properties"]["segment_id"] == "gold"
    assert _events(live, anonymousId="anon-m1") == everything
    assert [e["type"] for e in _events(live, userId="m-1", derived="false")] == ["identify"]
    assert [e["event"] for e in _events(live, userId="m-1", derived="true")] == ["Segment Entered"]
    assert [e.get("event") for e in _events(live, userId="m-2")] == [None]  # silver: no entry
    # Pages stay in log order across both kinds.
    first = _events(live, userId="m-1", limit="1")
    assert first == everything[:1]
    assert _events(live, userId="m-1", after=str(first[0]["seq"])) == everything[1:]
