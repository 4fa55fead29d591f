"""What the admin API does with values at the edge of what it can take: control characters
in a definition, times at the ends of the calendar, integers beyond a BIGINT. Each is a 400
that says where, on every store; none is a 500."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from juncture import wiring
from juncture.api.params import BIGINT
from tests.conftest import ADMIN, BASIC, LiveServer, settings_for
from tests.e2e.test_segments_http import RUNNING, view

YAML = {**ADMIN, "Content-Type": "application/yaml"}
JSON = {**ADMIN, "Content-Type": "application/json"}
TOO_BIG = str(BIGINT + 1)


def assert_400(r: httpx.Response, code: str, where: str) -> None:
    assert r.status_code == 400, (r.request.url, r.status_code, r.text)
    assert r.json()["code"] == code and r.json()["where"] == where, r.text


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x1b", "\x7f", "\ufffe"])
def test_control_characters_in_a_segment_are_400_at_their_line(live: LiveServer, char: str) -> None:
    source = RUNNING.replace("Running shoe browsers", f"Running{char}")
    for path in ("/v1/segments", "/v1/segments/preview", "/v1/segments?dryRun=true"):
        r = httpx.post(f"{live.url}{path}", json={"source": source}, headers=ADMIN)
        assert_400(r, "invalid_character", "segment.yaml:2")
    named = {"source": '{"id": "a",\n"name": "x' + char + '"}', "filename": "s.json"}
    r = httpx.post(f"{live.url}/v1/segments", json=named, headers=ADMIN)
    assert_400(r, "invalid_character", "s.json:2")


@pytest.mark.parametrize("char", ["\x00", "\x01", "\x1b"])
def test_control_characters_in_a_journey_are_400_at_their_line(live: LiveServer, char: str) -> None:
    text = f"id: j\nname: J{char}\n".encode()
    for path in ("/v1/journeys", "/v1/journeys/validate"):
        assert_400(
            httpx.post(f"{live.url}{path}", content=text, headers=YAML),
            "invalid_character",
            "body.yaml:2",
        )
        as_json = b'{"id": "j",\n "name": "J' + char.encode() + b'"}'
        r = httpx.post(f"{live.url}{path}", content=as_json, headers=JSON)
        assert_400(r, "invalid_character", "body.json:2")


def _at_routes(url: str) -> list[tuple[str, str, dict[str, Any] | None]]:
    seg = f"{url}/v1/segments"
    body = {"source": RUNNING}
    return [
        ("GET", seg, None),
        ("GET", f"{seg}/running", None),
        ("GET", f"{seg}/running/size", None),
        ("GET", f"{seg}/running/members", None),
        ("GET", f"{seg}/running/export", None),
        ("POST", f"{seg}/running/refresh", None),
        ("POST", seg, body),
        ("POST", f"{seg}/preview", body),
        ("POST", f"{seg}/auto", {"k": 2}),
    ]


@pytest.mark.parametrize(
    "at",
    [
        "0001-01-01T00:00:00Z",
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59Z",
        "1969-12-31T23:00Z",
        "2200-01-01T00:00:00Z",
    ],
)
def test_times_at_the_ends_of_the_calendar_are_400_on_every_route_that_takes_at(
    live: LiveServer, at: str
) -> None:
    batch = [view(f"u-{i % 4}", "Sports > Running") for i in range(8)]
    assert httpx.post(f"{live.url}/v1/batch", json={"batch": batch}, headers=BASIC).is_success
    assert httpx.post(f"{live.url}/v1/segments", json={"source": RUNNING}, headers=ADMIN).is_success
    for method, url, body in _at_routes(live.url):
        r = httpx.request(method, url, params={"at": at}, json=body, headers=ADMIN, timeout=30)
        assert_400(r, "invalid_parameter", "query.at")


def test_a_time_without_a_zone_is_400(live: LiveServer) -> None:
    r = httpx.get(f"{live.url}/v1/segments", params={"at": "0001-01-01"}, headers=ADMIN)
    assert_400(r, "invalid_parameter", "query.at")


@pytest.mark.parametrize(
    ("path", "params", "where"),
    [
        ("/v1/events", {"userId": "u", "after": TOO_BIG}, "query.after"),
        ("/v1/profiles/p/events", {"after": TOO_BIG}, "query.after"),
        ("/v1/erasures", {"before": TOO_BIG}, "query.before"),
        ("/v1/deliveries", {"after": TOO_BIG}, "query.after"),
        ("/v1/journeys/j", {"version": TOO_BIG}, "query.version"),
        ("/v1/journeys/j/stats", {"version": TOO_BIG}, "query.version"),
        (f"/v1/deliveries/{TOO_BIG}", {}, "path.delivery_id"),
    ],
)
def test_integers_beyond_a_bigint_are_400(
    live: LiveServer, path: str, params: dict[str, str], where: str
) -> None:
    r = httpx.get(f"{live.url}{path}", params=params, headers=ADMIN)
    assert_400(r, "invalid_parameter", where)


@pytest.mark.parametrize(
    ("path", "body", "where"),
    [
        (f"/v1/failed/{TOO_BIG}/replay", None, "path.failed_id"),
        ("/v1/failed/replay", {"ids": [BIGINT + 1]}, "body.ids.0"),
        ("/v1/deliveries/retry", {"ids": [BIGINT + 1]}, "body.ids.0"),
        ("/v1/segments/auto", {"seed": -1}, "body.seed"),
        ("/v1/segments/auto", {"seed": 2**32}, "body.seed"),
    ],
)
def test_integers_out_of_range_in_posts_are_400(
    live: LiveServer, path: str, body: dict[str, Any] | None, where: str
) -> None:
    r = httpx.post(f"{live.url}{path}", json=body, headers=ADMIN)
    assert_400(r, "invalid_parameter", where)


def test_every_integer_parameter_of_the_api_is_bounded(sqlite_url: str) -> None:
    juncture = wiring.build(settings_for(sqlite_url))
    try:
        spec = juncture.app().openapi()
    finally:
        juncture.close()
    unbounded = [
        f"{method.upper()} {path} {p['name']}"
        for path, item in spec["paths"].items()
        for method, op in item.items()
        for p in op.get("parameters", [])
        if _is_integer(p["schema"]) and not _bounded(p["schema"])
    ]
    assert not unbounded, unbounded


def _is_integer(schema: dict[str, Any]) -> bool:
    kinds = [schema, *schema.get("anyOf", [])]
    return any(k.get("type") == "integer" for k in kinds)


def _bounded(schema: dict[str, Any]) -> bool:
    kinds = [k for k in [schema, *schema.get("anyOf", [])] if k.get("type") == "integer"]
    return all("maximum" in k and k["maximum"] <= BIGINT and "minimum" in k for k in kinds)


@pytest.mark.parametrize(
    ("path", "params", "where"),
    [
        ("/v1/deliveries", {"journeyId": "j\x00"}, "query.journeyId"),
        ("/v1/events", {"userId": "u\x00"}, "query.userId"),
        ("/v1/profiles", {"anonymousId": "a\x00"}, "query.anonymousId"),
        ("/v1/segments/s%00/size", {}, "path.segment_id"),
        ("/v1/profiles/p%00/events", {}, "path.profile_id"),
    ],
)
def test_nul_in_a_path_or_query_value_is_400(
    live: LiveServer, path: str, params: dict[str, str], where: str
) -> None:
    r = httpx.get(f"{live.url}{path}", params=params, headers=ADMIN)
    assert_400(r, "invalid_parameter", where)
