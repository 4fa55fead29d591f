"""Scoped admin tokens, roles and the audit log over real HTTP, on SQLite and PostgreSQL.

A token minted with some scopes gets exactly the routes those scopes open (403 naming the
scope it lacks otherwise), a revoked token is refused at once, and every admin change and
every privacy or admin read is in the audit log with the token's id and the route's
template, never the customer it was about.
"""

from __future__ import annotations

import time
from importlib import resources
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from juncture.cli.main import app
from tests.conftest import ADMIN, BASIC, LiveServer

NPS = (resources.files("juncture.library") / "journeys" / "nps_follow_up.yaml").read_text()


def _mint(live: LiveServer, *scopes: str) -> tuple[dict[str, str], str]:
    r = httpx.post(
        f"{live.url}/v1/tokens", json={"name": "ci", "scopes": list(scopes)}, headers=ADMIN
    )
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}, r.json()["tokenId"]


def _profile(live: LiveServer, user_id: str) -> str:
    r = httpx.post(
        f"{live.url}/v1/track",
        json={"userId": user_id, "event": "Product Viewed", "properties": {"product_id": "p1"}},
        headers=BASIC,
    )
    assert r.status_code == 200, r.text
    for _ in range(100):
        found = httpx.get(f"{live.url}/v1/profiles", params={"userId": user_id}, headers=ADMIN)
        if found.status_code == 200 and found.json().get("profiles"):
            return str(found.json()["profiles"][0]["profileId"])
        time.sleep(0.05)
    raise AssertionError(f"no profile for {user_id}: {found.text}")


def _audit(live: LiveServer, **query: Any) -> list[dict[str, Any]]:
    r = httpx.get(f"{live.url}/v1/audit", params=query, headers=ADMIN)
    assert r.status_code == 200, r.text
    return list(r.json()["entries"])


def test_a_read_token_reads_and_is_refused_changes_with_the_scope_it_lacks(
    live: LiveServer,
) -> None:
    reader, _ = _mint(live, "read")
    assert httpx.get(f"{live.url}/v1/journeys", headers=reader).status_code == 200
    refused = httpx.post(f"{live.url}/v1/segments/auto", json={"k": 2}, headers=reader)
    assert refused.status_code == 403
    body = refused.json()
    assert body["code"] == "forbidden"
    assert "`write`" in body["message"]
    assert httpx.get(f"{live.url}/v1/audit", headers=reader).status_code == 403
    assert httpx.get(f"{live.url}/v1/erasures", headers=reader).status_code == 403


def test_a_privacy_token_exports_and_erases_but_changes_nothing_else(live: LiveServer) -> None:
    privacy, _ = _mint(live, "privacy")
    pid = _profile(live, "shopper-17")
    exported = httpx.get(f"{live.url}/v1/profiles/{pid}/export", headers=privacy)
    assert exported.status_code == 200, exported.text
    assert httpx.get(f"{live.url}/v1/journeys", headers=privacy).status_code == 403
    erased = httpx.delete(f"{live.url}/v1/profiles/{pid}", headers=privacy)
    assert erased.status_code in (200, 202), erased.text


def test_a_revoked_token_is_refused_at_once(live: LiveServer) -> None:
    reader, token_id = _mint(live, "read")
    assert httpx.get(f"{live.url}/v1/journeys", headers=reader).status_code == 200
    assert httpx.delete(f"{live.url}/v1/tokens/{token_id}", headers=ADMIN).status_code == 200
    again = httpx.get(f"{live.url}/v1/journeys", headers=reader)
    assert again.status_code == 401
    listed = httpx.get(f"{live.url}/v1/tokens", headers=ADMIN).json()["tokens"]
    assert [t["revokedAt"] is not None for t in listed if t["tokenId"] == token_id] == [True]
    assert all("token" not in t for t in listed)  # the secret is shown once, at minting
    assert httpx.get(f"{live.url}/v1/journeys", headers={"Authorization": "Bearer x"}).json()[
        "code"
    ] == ("unauthorized")


def test_the_audit_log_names_who_did_what_and_never_the_customer(live: LiveServer) -> None:
    writer, writer_id = _mint(live, "read", "write", "privacy")
    pid = _profile(live, "shopper-42@example.com")
    r = httpx.post(
        f"{live.url}/v1/journeys",
        content=NPS,
        headers={**writer, "Content-Type": "application/yaml"},
    )
    assert r.status_code in (200, 201), r.text
    paused = httpx.post(f"{live.url}/v1/journeys/nps_follow_up/pause", headers=writer)
    assert paused.status_code == 200, paused.text
    assert httpx.get(f"{live.url}/v1/profiles/{pid}/export", headers=writer).status_code == 200
    assert httpx.get(f"{live.url}/v1/journeys", headers=writer).status_code == 200  # not audited
    reader, reader_id = _mint(live, "read")
    assert (
        httpx.post(f"{live.url}/v1/journeys/nps_follow_up/resume", headers=reader).status_code
        == 403
    )

    entries = _audit(live)
    mine = [(e["action"], e["scope"], e["status"]) for e in entries if e["actor"] == writer_id]
    assert mine == [
        ("POST /v1/journeys", "write", r.status_code),
        ("POST /v1/journeys/{journey_id}/pause", "write", 200),
        ("GET /v1/profiles/{profile_id}/export", "privacy", 200),
    ]
    refused = [(e["action"], e["status"]) for e in entries if e["actor"] == reader_id]
    assert refused == [("POST /v1/journeys/{journey_id}/resume", 403)]
    minted = [e for e in entries if e["action"] == "POST /v1/tokens"]
    assert [e["actor"] for e in minted] == ["JUNCTURE_ADMIN_TOKEN", "JUNCTURE_ADMIN_TOKEN"]
    text = httpx.get(f"{live.url}/v1/audit", params={"format": "csv"}, headers=ADMIN).text
    assert text.splitlines()[0] == "id,at,actor,actor_kind,action,scope,status"
    assert pid not in text and "shopper-42" not in text
    reads = [e for e in _audit(live) if e["action"] == "GET /v1/audit"]
    assert len(reads) >= 2  # reading the audit log is itself audited


def test_users_need_a_long_password_and_a_known_role(live: LiveServer) -> None:
    short = httpx.put(
        f"{live.url}/v1/users/ana", json={"role": "analyst", "password": "short"}, headers=ADMIN
    )
    assert short.status_code == 400
    assert "password" in short.json()["where"]
    bad_role = httpx.put(
        f"{live.url}/v1/users/ana",
        json={"role": "owner", "password": "a long enough password"},
        headers=ADMIN,
    )
    assert bad_role.status_code == 400
    assert "role" in bad_role.json()["where"]
    ok = httpx.put(
        f"{live.url}/v1/users/ana",
        json={"role": "analyst", "password": "a long enough password"},
        headers=ADMIN,
    )
    assert ok.status_code == 200, ok.text
    users = httpx.get(f"{live.url}/v1/users", headers=ADMIN).json()["users"]
    assert [(u["name"], u["role"], u["scopes"]) for u in users] == [("ana", "analyst", ["read"])]
    assert "password" not in str(users)


def test_dashboard_users_sign_in_by_password_until_disabled(live: LiveServer) -> None:
    access = live.juncture.store.access
    now = live.juncture.ingestor.clock.now()
    access.put_user("sam", "support", "correct horse battery", now)
    signed = access.user_signing_in("sam", "correct horse battery")
    assert signed is not None and signed.role == "support"
    assert access.user_signing_in("sam", "correct horse batterY") is None
    assert access.user_signing_in("nobody", "correct horse battery") is None
    assert access.disable_user("sam", now)
    assert access.user_signing_in("sam", "correct horse battery") is None
    access.put_user("sam", "marketer", "another long password", now)  # enabled again
    again = access.user_signing_in("sam", "another long password")
    assert again is not None and again.role == "marketer"


@pytest.mark.slow
def test_the_cli_mints_a_token_that_the_server_takes_and_audits(live: LiveServer) -> None:
    url = str(live.juncture.store.url)
    runner = CliRunner()
    made = runner.invoke(app, ["tokens", "create", "backup", "--scopes", "read,privacy",
                               "--database-url", url])  # fmt: skip
    assert made.exit_code == 0, made.output
    secret = made.stdout.strip().splitlines()[0]
    assert secret.startswith("jat_")
    backup = {"Authorization": f"Bearer {secret}"}
    assert httpx.get(f"{live.url}/v1/erasures", headers=backup).status_code == 200
    bad = runner.invoke(app, ["tokens", "create", "x", "--scopes", "read,root",
                              "--database-url", url])  # fmt: skip
    assert bad.exit_code == 2
    assert "unknown scope root" in bad.output
    log = runner.invoke(app, ["audit", "--csv", "--database-url", url])
    assert log.exit_code == 0, log.output
    assert ",cli,cli,tokens create tok_" in log.stdout
    assert ",GET /v1/erasures,privacy,200" in log.stdout
