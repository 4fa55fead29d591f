"""What ``juncture serve`` writes to its log (stdout and stderr, at debug level) after
ingesting personal data, rejecting it and failing to store it: none of it."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from juncture.store.sql import SqlStore
from juncture.testing import ServerProcess
from tests.conftest import ADMIN_TOKEN, WRITE_KEY

pytestmark = pytest.mark.slow

EMAIL = "ann.lindqvist@example.org"
NAME = "Lindqvist"
PHONE = "+46701234567"
USER_ID = "cust-8842917"
ANONYMOUS_ID = "anon-5f0e93c2"
PERSONAL = (EMAIL, NAME, PHONE, USER_ID, ANONYMOUS_ID, "Storgatan")


def _send_personal_data(url: str) -> None:
    traits = {"email": EMAIL, "name": f"Ann {NAME}", "phone": PHONE, "address": "Storgatan 4"}
    admin = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=url, auth=(WRITE_KEY, ""), timeout=10) as c:
        assert c.post("/v1/identify", json={"userId": USER_ID, "traits": traits}).is_success
        order = {"order_id": "o-1", "total": 20, "products": [{"product_id": "P1", "price": 20}]}
        batch = [
            {"type": "page", "anonymousId": ANONYMOUS_ID, "context": {"traits": traits}},
            {"type": "alias", "userId": USER_ID, "previousId": ANONYMOUS_ID},
            {"type": "track", "userId": USER_ID, "event": "Product Added", "properties": order},
            {"type": "track", "userId": USER_ID, "event": "Order Completed", "properties": order},
            # rejected messages: their reasons echo what was sent
            {"type": "track", "userId": USER_ID, "event": "E", "timestamp": EMAIL},
            {"type": "identify", "userId": USER_ID, "traits": f"{NAME} {PHONE}"},
            {"type": "track", "anonymousId": ANONYMOUS_ID, "event": "E", "timestamp": NAME},
        ]
        assert c.post("/v1/batch", json={"batch": batch}).json()["rejected"]
        assert c.post("/v1/track", content=f'{{"userId": "{USER_ID}", "event": ').is_client_error
        assert c.post("/v1/track", json={"event": EMAIL}).status_code == 400
    with httpx.Client(base_url=url, headers=admin, timeout=10) as a:
        consistent = {"consistent": "true"}  # read right after the writes
        assert a.get("/v1/profiles", params={"email": EMAIL, **consistent}).is_success
        assert a.get("/v1/profiles", params={"userId": USER_ID, **consistent}).is_success
        assert a.get(f"/v1/profiles/{USER_ID}").status_code == 404
        assert a.get("/v1/events", params={"userId": USER_ID}).is_success
        assert a.post("/v1/decide", json={"userId": USER_ID, "placement": NAME}).status_code


def _send_while_the_store_fails(url: str, database_url: str) -> None:
    store = SqlStore(database_url)
    with store.engine.begin() as conn:
        conn.execute(sa.text("ALTER TABLE events RENAME TO events_away"))
    try:
        body = {"userId": USER_ID, "traits": {"email": EMAIL, "name": NAME}}
        r = httpx.post(f"{url}/v1/identify", json=body, auth=(WRITE_KEY, ""), timeout=10)
        assert r.status_code == 503
    finally:
        with store.engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE events_away RENAME TO events"))
        store.close()


def test_server_logs_carry_no_personal_data(database_url: str, tmp_path: Path) -> None:
    log = tmp_path / "serve.log"
    env = {
        "JUNCTURE_WRITE_KEYS": WRITE_KEY,
        "JUNCTURE_ADMIN_TOKEN": ADMIN_TOKEN,
        "JUNCTURE_LOG_LEVEL": "debug",
    }
    with ServerProcess(database_url, env=env, log=log) as server:
        _send_personal_data(server.url)
        _send_while_the_store_fails(server.url, database_url)
    lines = log.read_text().splitlines()
    records = [json.loads(line) for line in lines if line.startswith("{")]
    assert records, "the server logged nothing: the capture is broken"
    leaks = [line for line in lines for value in PERSONAL if value.lower() in line.lower()]
    assert leaks == []
