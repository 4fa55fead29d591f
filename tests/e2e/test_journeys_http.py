"""Journey administration and stats over real HTTP, on every store."""

from __future__ import annotations

import json

import httpx
import yaml

from juncture.definitions import journeys as journey_definitions
from tests.conftest import ADMIN_TOKEN, LiveServer
from tests.contract.test_journey_stats import fill
from tests.contract.test_journey_store import V1

ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
YAML = {**ADMIN, "Content-Type": "application/yaml"}


def test_apply_show_list_pause_resume_archive(live: LiveServer) -> None:
    url = f"{live.url}/v1/journeys"
    first = httpx.post(url, content=V1, headers=YAML)
    assert first.status_code == 201, first.text
    assert first.json() == {
        "journey": "thanks",
        "version": 1,
        "status": "active",
        "created": True,
        "declaredVersion": 1,
        "dateTimersArmed": 0,
    }
    assert httpx.post(url, content=V1, headers=YAML).status_code == 200  # unchanged
    as_json = json.dumps(yaml.safe_load(V1.replace("1d", "2d")))
    second = httpx.post(url, content=as_json, headers={**ADMIN, "Content-Type": "application/json"})
    assert second.status_code == 201 and second.json()["version"] == 2

    shown = httpx.get(f"{url}/thanks", headers=ADMIN).json()
    assert shown["version"] == 2 and shown["status"] == "active"
    assert [(v["version"], v["status"]) for v in shown["versions"]] == [
        (1, "superseded"),
        (2, "active"),
    ]
    assert shown["nodes"][0] == {"id": "bought", "type": "Trigger"}
    old = httpx.get(f"{url}/thanks", params={"version": 1}, headers=ADMIN).json()
    assert old["shownVersion"] == 1 and old["definition"] == V1

    listed = httpx.get(url, headers=ADMIN).json()["journeys"]
    assert [(j["id"], j["version"], j["status"]) for j in listed] == [("thanks", 2, "active")]
    for action, status in [("pause", "paused"), ("resume", "active"), ("archive", "archived")]:
        r = httpx.post(f"{url}/thanks/{action}", headers=ADMIN)
        assert (r.status_code, r.json()["status"]) == (200, status), r.text
    refused = httpx.post(f"{url}/thanks/pause", headers=ADMIN)
    assert refused.status_code == 409 and refused.json()["code"] == "conflict"
    assert live.juncture.store.journeys.catalog().versions == ()


def test_a_bad_definition_is_422_with_every_problem_and_changes_nothing(
    live: LiveServer,
) -> None:
    url = f"{live.url}/v1/journeys"
    assert httpx.post(url, content=V1, headers=YAML).status_code == 201
    bad = V1.replace("duration: 1d", "duration: soon").replace("next: mail", "next: mial")
    for endpoint in (url, f"{url}/validate"):
        r = httpx.post(endpoint, content=bad, headers=YAML)
        assert r.status_code == 422, r.text
        body = r.json()
        assert body["code"] == "invalid_definition"
        problems = {(p["where"], p["path"]) for p in body["problems"]}
        assert ("body.yaml:11", "nodes[1].duration") in problems
        assert ("body.yaml:12", "nodes[1].next") in problems
    named = httpx.post(url, params={"filename": "thanks.yaml"}, content=bad, headers=YAML)
    assert named.json()["where"].startswith("thanks.yaml:")
    shown = httpx.get(f"{url}/thanks", headers=ADMIN).json()
    assert [v["version"] for v in shown["versions"]] == [1]
    assert shown["definition"] == V1
    ok = httpx.post(f"{url}/validate", content=V1, headers=YAML)
    assert ok.json() == {
        "valid": True,
        "journey": "thanks",
        "nodes": ["bought", "wait", "mail", "done"],
    }


def test_bad_requests_are_4xx_json(live: LiveServer) -> None:
    url = f"{live.url}/v1/journeys"
    cases = [
        (httpx.get(url), 401, "unauthorized"),
        (httpx.get(url, headers={"Authorization": "Bearer wrong"}), 401, "unauthorized"),
        (httpx.post(url, content=V1, headers=ADMIN), 415, "unsupported_media_type"),
        (httpx.post(url, content=b"\xff\xfe", headers=YAML), 400, "bad_encoding"),
        (httpx.get(f"{url}/nope", headers=ADMIN), 404, "not_found"),
        (httpx.get(f"{url}/nope/stats", headers=ADMIN), 404, "not_found"),
        (httpx.post(f"{url}/nope/archive", headers=ADMIN), 404, "not_found"),
        (httpx.get(f"{url}/nope", params={"version": 0}, headers=ADMIN), 400, "invalid_parameter"),
    ]
    for response, status, code in cases:
        assert (response.status_code, response.json()["code"]) == (status, code), response.text
    not_yaml = httpx.post(url, content="id: [", headers=YAML)
    assert not_yaml.status_code == 422 and "not valid YAML" in not_yaml.json()["message"]


def test_schema_and_stats_and_prometheus(live: LiveServer) -> None:
    url = f"{live.url}/v1/journeys"
    assert httpx.get(f"{url}/schema", headers=ADMIN).json() == journey_definitions.schema()
    assert httpx.post(url, content=V1, headers=YAML).status_code == 201
    fill(live.juncture.store)
    stats = httpx.get(f"{url}/thanks/stats", headers=ADMIN).json()
    assert (stats["entered"], stats["active"], stats["sent"], stats["failed"]) == (6, 2, 1, 1)
    assert stats["nodes"][1]["node"] == "wait" and stats["nodes"][1]["waiting"] == 2
    assert httpx.get(f"{url}/thanks/stats", params={"version": 2}, headers=ADMIN).status_code == 404

    metrics = httpx.get(f"{live.url}/metrics").text
    assert "juncture_journey_stats_up 1.0" in metrics
    assert 'juncture_journey_enrollments_total{journey="thanks"} 6.0' in metrics
    assert 'juncture_journey_node_waiting{journey="thanks",node="wait"} 2.0' in metrics
    assert (
        'juncture_journey_node_suppressed_total{journey="thanks",node="mail",'
        'reason="no_consent:email:marketing"} 1.0'
    ) in metrics
    assert (
        'juncture_journey_node_exited_total{journey="thanks",node="done",reason="completed"} 3.0'
        in metrics
    )
    assert (
        'juncture_journey_node_messages_total{journey="thanks",node="mail",status="dead"} 1.0'
        in metrics
    )
    assert "p3" not in metrics and "e3" not in metrics  # no profile or enrollment ids
