"""The segments admin API over real HTTP, on every store."""

from __future__ import annotations

import uuid

import httpx

from tests.conftest import ADMIN, BASIC, LiveServer, caught_up

RUNNING = """\
id: running
name: Running shoe browsers
description: Two running-shoe views this week, no order.
where:
  all:
    - performed: Product Viewed
      where: {category: Sports > Running}
      at_least: 2
      within: 7d
    - not_performed: Order Completed
      within: 7d
"""


def view(user: str, category: str) -> dict[str, object]:
    return {
        "type": "track",
        "userId": user,
        "event": "Product Viewed",
        "messageId": str(uuid.uuid4()),
        "properties": {"product_id": "P1", "category": category},
    }


def test_segments_are_applied_sized_paged_exported_and_clustered(live: LiveServer) -> None:
    batch = [view(u, "Sports > Running") for u in ("a", "b", "c") for _ in range(2)]
    batch += [view("d", "Home > Lamps"), view("e", "Sports > Running")]
    r = httpx.post(f"{live.url}/v1/batch", json={"batch": batch}, headers=BASIC)
    assert r.status_code == 200, r.text
    caught_up(live.juncture)  # segments are sized from what the engine behind the log applied
    with httpx.Client(base_url=f"{live.url}/v1", headers=ADMIN) as api:
        check_api(api)


def check_api(api: httpx.Client) -> None:

    bad = api.post(
        "/segments", json={"source": RUNNING.replace("7d\n", "a week\n", 1), "filename": "r.yaml"}
    )
    assert bad.status_code == 422
    assert bad.json()["code"] == "invalid_definition"
    assert bad.json()["message"].startswith("r.yaml:9: where.all[0].within: bad duration")

    assert api.post("/segments/preview", json={"source": RUNNING}).json() == {
        "id": "running",
        "size": 3,
    }
    assert (
        api.post("/segments", json={"source": RUNNING}, params={"dryRun": "true"}).status_code
        == 200
    )
    assert api.get("/segments/running").status_code == 404
    created = api.post("/segments", json={"source": RUNNING, "filename": "running.yaml"})
    assert created.status_code == 201, created.text
    assert created.json()["size"] == 3

    listed = api.get("/segments").json()["segments"]
    assert [(s["id"], s["size"], s["kind"]) for s in listed] == [("running", 3, "manual")]
    assert api.get("/segments/running/size").json()["size"] == 3
    page = api.get("/segments/running/members", params={"limit": 2}).json()
    assert len(page["members"]) == 2
    rest = api.get("/segments/running/members", params={"limit": 2, "after": page["next"]}).json()
    assert len(rest["members"]) == 1
    assert rest["next"] is None
    csv = api.get("/segments/running/export")
    assert csv.headers["content-type"].startswith("text/csv")
    assert len(csv.text.strip().splitlines()) == 4
    assert api.post("/segments/running/refresh").json()["entered"] == 0
    sizes = api.get("/segments/running/history").json()["sizes"]
    assert [s["size"] for s in sizes] == [3, 3]
    assert (
        api.get("/segments/running/size", params={"at": "2020-01-01T00:00:00"}).status_code == 400
    )

    auto = api.post("/segments/auto", json={"k": 2, "seed": 1})
    assert auto.status_code == 200, auto.text
    made = auto.json()["segments"]
    assert sum(s["size"] for s in made) == 5
    assert all(s["description"] for s in made)
    kinds = {s["id"]: s["kind"] for s in api.get("/segments").json()["segments"]}
    assert kinds == {"auto-1": "auto", "auto-2": "auto", "running": "manual"}
    assert api.get("/segments/auto-1/members").json()["members"]
    assert api.get("/segments/nope/size").json()["code"] == "not_found"
